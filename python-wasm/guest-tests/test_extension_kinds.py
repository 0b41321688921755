"""The `hook` and `generator` handlers over a fake host."""

import unittest

import support

support.install_fake_host()

from blogmark_guest import ABI_VERSION  # noqa: E402 - after the fake host
from blogmark_guest.abi import generator, hook  # noqa: E402


def script(source, entrypoint="render"):
    return {"slug": "s", "entrypoint": entrypoint, "path": "scripts/s.py", "source": source}


def hook_request(source, element):
    return {"abi": ABI_VERSION, "kind": "hook", "script": script(source), "element": element,
            "page": None, "site": {"title": "T", "base_url": "https://x/"}}


LINK = {"type": "link", "url": "https://a.example/", "text": "A", "title": ""}


class HookTest(unittest.TestCase):
    def setUp(self):
        support.install_fake_host()

    def test_the_element_is_ctx_element_and_named_by_its_type(self):
        source = ("def render(ctx):\n"
                  "    assert ctx.element is ctx.link\n"
                  "    return f'<a class=x href={ctx.link.url}>{ctx.link[\"text\"]}</a>'\n")
        result = hook(hook_request(source, LINK))
        self.assertEqual(result, {"abi": 1, "ok": True,
                                  "html": "<a class=x href=https://a.example/>A</a>"})

    def test_a_code_block_is_ctx_code(self):
        element = {"type": "codeblock", "lang": "chart", "text": "1 2", "attrs": ""}
        result = hook(hook_request("def render(ctx):\n    return ctx.code.text\n", element))
        self.assertEqual(result["html"], "1 2")

    def test_none_means_the_default_rendering(self):
        for body in ("return None", "return {'html': None}", "pass"):
            result = hook(hook_request(f"def render(ctx):\n    {body}\n", LINK))
            self.assertEqual(result, {"abi": 1, "ok": True, "html": None})

    def test_anything_else_is_a_type_error(self):
        with self.assertRaises(TypeError) as raised:
            hook(hook_request("def render(ctx):\n    return 3\n", LINK))
        self.assertIn("a hook returns a str of HTML, or None", str(raised.exception))

    def test_the_element_is_read_only(self):
        with self.assertRaises(AttributeError):
            hook(hook_request("def render(ctx):\n    ctx.link.url = 'x'\n", LINK))


class GeneratorTest(unittest.TestCase):
    def request(self, source):
        return {"abi": ABI_VERSION, "kind": "generator",
                "script": script(source, entrypoint="generate"), "site": {}}

    def test_pages_and_files(self):
        source = ("def generate(ctx):\n"
                  "    return {'pages': [{'path': 'pages/a.md', 'front_matter': {'title': 'A'},"
                  " 'body': 'x'}], 'files': [{'output': 'a.json', 'content': '{}'}]}\n")
        result = generator(self.request(source))
        self.assertEqual(result["pages"], [{"path": "pages/a.md", "front_matter": {"title": "A"},
                                            "body": "x"}])
        self.assertEqual(result["files"], [{"output": "a.json", "content": "{}"}])

    def test_a_list_is_pages_and_none_is_nothing(self):
        listed = generator(self.request(
            "def generate(ctx):\n    return [{'path': 'pages/a.md'}]\n"))
        self.assertEqual(listed["pages"], [{"path": "pages/a.md", "front_matter": {}, "body": ""}])
        nothing = generator(self.request("def generate(ctx):\n    pass\n"))
        self.assertEqual((nothing["pages"], nothing["files"]), ([], []))

    def test_malformed_pages_and_files_say_which(self):
        cases = {
            "return [{'path': 3}]": "page 0 needs `path`",
            "return [{'path': 'a.md', 'tags': []}]": "page 0 has unknown keys: tags",
            "return {'files': [{'output': 'a'}]}": "file 0 needs exactly",
            "return {'pagez': []}": "a generator returns",
        }
        for body, message in cases.items():
            with self.subTest(body=body), self.assertRaises(TypeError) as raised:
                generator(self.request(f"def generate(ctx):\n    {body}\n"))
            self.assertIn(message, str(raised.exception))


if __name__ == "__main__":
    unittest.main()
