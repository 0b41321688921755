"""`ctx.data` and `ctx.site` over a fake host: one question per read, and
only for what the script reads."""

import json
import unittest

import support

support.install_fake_host()

from blogmark_guest.site import DataFolder, Record, Site  # noqa: E402 - after the fake host


def q(document):
    return json.dumps(document, separators=(", ", ": "))


class DataTest(unittest.TestCase):
    def setUp(self):
        self.host = support.install_fake_host()
        self.host.answers = {
            q({"data": ["books"]}): json.dumps({"folder": True}),
            q({"keys": ["books"]}): json.dumps({"keys": ["dune", "emma"]}),
            q({"data": ["books", "dune"]}): json.dumps({"value": {"title": "Dune",
                                                                 "tags": ["sf"]}}),
            q({"data": ["nothing"]}): json.dumps({"missing": True}),
            q({"keys": []}): json.dumps({"keys": ["books"]}),
        }

    def test_a_file_is_read_only_when_its_key_is(self):
        data = DataFolder()
        self.assertEqual(self.host.questions, [])
        dune = data["books"]["dune"]
        self.assertEqual(dune["title"], "Dune")
        self.assertEqual(dune.title, "Dune")
        self.assertEqual(dune.tags, ("sf",))
        self.assertEqual(self.host.questions,
                         [q({"data": ["books"]}), q({"data": ["books", "dune"]})])

    def test_reading_twice_asks_once(self):
        data = DataFolder()
        data["books"]["dune"]
        data["books"]["dune"]
        self.assertEqual(len(self.host.questions), 2)

    def test_a_missing_key_is_a_key_error_naming_the_path(self):
        data = DataFolder()
        with self.assertRaises(KeyError) as raised:
            data["nothing"]
        self.assertIn("data/nothing", str(raised.exception))
        self.assertNotIn("nothing", data)
        self.assertIsNone(data.get("nothing"))

    def test_listing_a_folder_asks_for_its_names_once(self):
        books = DataFolder()["books"]
        self.assertEqual(list(books), ["dune", "emma"])
        self.assertEqual(len(books), 2)
        self.assertEqual(list(DataFolder()), ["books"])
        self.assertEqual(self.host.questions.count(q({"keys": []})), 1)
        self.assertEqual(self.host.questions.count(q({"keys": ["books"]})), 1)

    def test_items_and_values_read_a_folder_in_one_question(self):
        self.host.answers[q({"entries": ["books"]})] = json.dumps(
            {"files": {"dune": {"title": "Dune"}, "emma": {"title": "Emma"}},
             "folders": ["series"]})
        books = DataFolder()["books"]
        dune = books["dune"]
        items = dict(books.items())
        self.assertEqual(list(items), ["dune", "emma", "series"])
        self.assertIs(items["dune"], dune, "a value read before is the same object")
        self.assertEqual(items["emma"].title, "Emma")
        self.assertIsInstance(items["series"], DataFolder)
        self.assertEqual([v for v in books.values() if isinstance(v, Record)][1].title, "Emma")
        self.assertEqual(self.host.questions, [
            q({"data": ["books"]}), q({"data": ["books", "dune"]}), q({"entries": ["books"]})])

    def test_a_folder_too_large_for_one_answer_is_read_key_by_key(self):
        self.host.answers[q({"entries": ["books"]})] = support.Err("the answer is too large")
        self.host.answers[q({"data": ["books", "emma"]})] = json.dumps({"value": 1})
        books = DataFolder()["books"]
        self.assertEqual([v if v == 1 else v.title for v in books.values()], ["Dune", 1])
        self.assertEqual(self.host.questions[1:], [
            q({"entries": ["books"]}), q({"keys": ["books"]}),
            q({"data": ["books", "dune"]}), q({"data": ["books", "emma"]})])

    def test_data_is_read_only(self):
        data = DataFolder()
        with self.assertRaises(AttributeError):
            data.books = 1
        with self.assertRaises(TypeError):
            data["books"]["dune"]["title"] = "x"

    def test_a_refusal_is_a_lookup_error(self):
        self.host.answers[q({"data": ["big"]})] = support.Err("the answer is too large")
        with self.assertRaises(LookupError) as raised:
            DataFolder()["big"]
        self.assertIn("too large", str(raised.exception))


class SiteTest(unittest.TestCase):
    def setUp(self):
        self.host = support.install_fake_host()

    def test_fields_read_as_keys_and_attributes(self):
        site = Site({"title": "T", "base_url": "https://x/"})
        self.assertEqual((site["title"], site.base_url), ("T", "https://x/"))
        self.assertEqual(dict(site), {"title": "T", "base_url": "https://x/"})
        self.assertEqual(self.host.questions, [])

    def test_pages_sends_only_what_was_given(self):
        question = q({"pages": {"tag": "rust", "sort": "date", "limit": 3}})
        self.host.answers[question] = json.dumps({"pages": [{"title": "A", "url": "/a/"}]})
        pages = Site({}).pages(tag="rust", limit=3)
        self.assertEqual(pages[0].title, "A")
        self.assertEqual(self.host.questions, [question])

    def test_a_summary_is_read_only_all_the_way_down_as_it_is_read(self):
        summary = {"title": "A", "tags": ["x", "y"], "extra": {"cover": {"src": "a.jpg"},
                                                              "sizes": [[1, 2]]}}
        self.host.answers[q({"page": "/a/"})] = json.dumps({"page": summary})
        page = Site({}).page("/a/")
        self.assertEqual(page.tags, ("x", "y"))
        self.assertIs(page.tags, page["tags"])
        self.assertIsInstance(page.extra, Record)
        self.assertEqual(page.extra.cover.src, "a.jpg")
        self.assertEqual(page.extra["sizes"], ((1, 2),))
        self.assertEqual(dict(page)["tags"], ("x", "y"))
        self.assertEqual(repr(page.extra), "Record({'cover': Record({'src': 'a.jpg'}), "
                                           "'sizes': ((1, 2),)})")
        with self.assertRaises(AttributeError):
            page.title = "B"
        with self.assertRaises(TypeError):
            page.extra["cover"]["src"] = "b.jpg"
        self.assertEqual(page, {"title": "A", "tags": ("x", "y"),
                                "extra": {"cover": {"src": "a.jpg"}, "sizes": ((1, 2),)}})

    def test_page_by_path(self):
        self.host.answers[q({"page": "/a/"})] = json.dumps({"page": None})
        self.assertIsNone(Site({}).page("/a/"))

    def test_bad_arguments_are_refused_before_asking(self):
        site = Site({})
        with self.assertRaises(ValueError):
            site.pages(sort="random")
        with self.assertRaises(ValueError):
            site.pages(taxonomy="tags")
        with self.assertRaises(ValueError):
            site.pages(limit=-1)
        with self.assertRaises(TypeError):
            site.pages(tag=3)
        self.assertEqual(self.host.questions, [])


if __name__ == "__main__":
    unittest.main()


class FetchTest(unittest.TestCase):
    def setUp(self):
        self.host = support.install_fake_host()
        self.host.answers = {
            q({"fetch": "https://a.example/j"}): json.dumps(
                {"url": "https://a.example/j", "status": 200,
                 "content_type": "application/json", "text": '{"n": [1, 2]}\n'}),
            q({"fetch": "https://a.example/b"}): json.dumps(
                {"url": "https://a.example/b", "status": 200,
                 "content_type": "image/png", "base64": "iVBORw=="}),
        }
        from blogmark_guest.site import fetch
        self.fetch = fetch

    def test_json_text_and_bytes(self):
        got = self.fetch("https://a.example/j")
        self.assertEqual(got.n, (1, 2))
        self.assertEqual(self.fetch("https://a.example/j", as_="text"), '{"n": [1, 2]}\n')
        self.assertEqual(self.fetch("https://a.example/j", as_="bytes"), b'{"n": [1, 2]}\n')
        self.assertEqual(self.fetch("https://a.example/b", as_="bytes"), b"\x89PNG")
        self.assertEqual(self.host.questions[0], q({"fetch": "https://a.example/j"}))

    def test_a_refusal_is_sandbox_denied_and_a_failure_fetch_error(self):
        from blogmark_guest.lockdown import SandboxDenied
        from blogmark_guest.site import FetchError
        self.host.answers.update({
            q({"fetch": "https://b.example/"}):
                support.Err("denied: cannot fetch https://b.example/"),
            q({"fetch": "https://a.example/down"}):
                support.Err("fetching https://a.example/down failed"),
        })
        with self.assertRaises(SandboxDenied) as denied:
            self.fetch("https://b.example/")
        self.assertEqual(str(denied.exception), "cannot fetch https://b.example/")
        with self.assertRaises(FetchError) as failed:
            self.fetch("https://a.example/down")
        self.assertIn("failed", str(failed.exception))
        self.assertIsInstance(failed.exception, OSError)

    def test_arguments_are_checked_before_asking(self):
        with self.assertRaises(ValueError):
            self.fetch("https://a.example/j", as_="xml")
        with self.assertRaises(TypeError):
            self.fetch(b"https://a.example/j")
        self.assertEqual(self.host.questions, [])


class ResourceTest(unittest.TestCase):
    def setUp(self):
        self.host = support.install_fake_host()
        from blogmark_guest.site import resource_of
        self.resource = resource_of({"path": "content/posts/trip/index.md"})

    def test_each_operation_is_one_question_naming_the_page(self):
        made = json.dumps({"url": "/posts/trip/c_1_800x600.webp", "width": 800, "height": 600})
        self.host.answers = {
            q({"image": {"src": "c.jpg", "page": "content/posts/trip/index.md", "op": "resize",
                         "width": 800, "format": "webp"}}): made,
        }
        image = self.resource("c.jpg").resize(800, format="webp")
        self.assertEqual((image.url, image.width, image.height),
                         ("/posts/trip/c_1_800x600.webp", 800, 600))

    def test_srcset_lists_each_width(self):
        for w in (400, 800):
            self.host.answers[q({"image": {"src": "/a.png", "op": "resize", "width": w}})] = \
                json.dumps({"url": f"/a_{w}.png", "width": w, "height": w // 2})
        from blogmark_guest.site import resource_of
        self.assertEqual(resource_of(None)("/a.png").srcset([400, 800]),
                         "/a_400.png 400w, /a_800.png 800w")

    def test_refusals_and_failures(self):
        from blogmark_guest.lockdown import SandboxDenied
        from blogmark_guest.site import ImageError
        key = q({"image": {"src": "x.jpg", "page": "content/posts/trip/index.md",
                           "op": "fit", "width": 1, "height": 1}})
        self.host.answers = {key: support.Err("denied: no images")}
        with self.assertRaises(SandboxDenied):
            self.resource("x.jpg").fit(1, 1)
        self.host.answers = {key: support.Err("content/posts/trip/index.md has no file")}
        with self.assertRaises(ImageError):
            self.resource("x.jpg").fit(1, 1)
        with self.assertRaises(ValueError):
            self.resource("x.jpg").resize(0)


class PageResourcesTest(unittest.TestCase):
    def setUp(self):
        self.host = support.install_fake_host()

    def test_by_position_as_before_and_by_name_with_the_image_methods(self):
        from blogmark_guest.site import Resources
        info = {"name": "cover.jpg", "width": 640, "height": 480, "size": 3}
        resources = Resources(({"name": "notes.txt"}, info), "content/posts/trip/index.md")
        self.assertEqual(resources[1]["name"], "cover.jpg")
        self.assertEqual([r["name"] for r in resources], ["notes.txt", "cover.jpg"])
        cover = resources["cover.jpg"]
        self.assertEqual((cover.width, cover["height"]), (640, 480))
        self.host.answers = {
            q({"image": {"src": "cover.jpg", "page": "content/posts/trip/index.md",
                         "op": "resize", "width": 320}}):
                json.dumps({"url": "/c.jpg", "width": 320, "height": 240}),
        }
        self.assertEqual(cover.resize(320).height, 240)
        with self.assertRaises(KeyError):
            resources["missing.png"]
        with self.assertRaises(AttributeError):
            resources.x = 1
