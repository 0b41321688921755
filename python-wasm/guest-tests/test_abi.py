"""ABI v1 handlers and documents, over a fake host (for `ctx.call`)."""

import base64
import marshal
import re
import types
import unittest

import support

support.install_fake_host()

from blogmark_guest import ABI_VERSION  # noqa: E402 - after the fake host
from blogmark_guest.abi import (  # noqa: E402
    _PRELOADED,
    HANDLERS,
    check,
    error_document,
    freeze,
    macro,
    precompiled,
    preload_scripts,
    script_filename,
    transform,
)


def script(source, slug="s", entrypoint="render", **more):
    return {"slug": slug, "entrypoint": entrypoint, "path": f"scripts/{slug}.py",
            "source": source, **more}


def macro_request(source, call=None, **more):
    return {"abi": ABI_VERSION, "kind": "macro", "script": script(source),
            "call": call or {"name": "s"}, "page": None, "site": {}, **more}


def raised(handler, request):
    """The error document for what `handler` raises, as the dispatcher makes it."""
    try:
        handler(request)
    except BaseException as exc:  # noqa: BLE001 - as the dispatcher catches it
        return error_document(exc, script_filename(request["script"]))
    raise AssertionError("nothing raised")


class Documents(unittest.TestCase):
    def test_the_handlers(self):
        self.assertEqual(set(HANDLERS), {"macro", "transform", "hook", "generator", "check"})

    def test_script_filename(self):
        self.assertEqual(script_filename({"slug": "a", "path": "x/y.py"}), "x/y.py")
        self.assertEqual(script_filename({"slug": "a", "path": ""}), "scripts/a.py")
        self.assertEqual(script_filename({"slug": "a"}), "scripts/a.py")

    def test_freeze_is_a_read_only_deep_copy(self):
        value = {"a": [1, {"b": [2]}], "c": "d"}
        frozen = freeze(value)
        self.assertIsInstance(frozen, types.MappingProxyType)
        self.assertEqual(frozen["a"][0], 1)
        self.assertIsInstance(frozen["a"], tuple)
        self.assertIsInstance(frozen["a"][1], types.MappingProxyType)
        self.assertEqual(frozen["a"][1]["b"], (2,))
        with self.assertRaises(TypeError):
            frozen["c"] = "e"
        value["a"][1]["b"].append(3)
        self.assertEqual(frozen["a"][1]["b"], (2,))
        self.assertIsNone(freeze(None))


class Check(unittest.TestCase):
    def test_functions_entrypoint_and_code(self):
        source = "\ufeffimport re\n\ndef render(ctx):\n    return re.sub('a+', 'b', 'x')\n" \
                 "async def helper():\n    pass\n\nclass K:\n    def m(self): pass\n"
        result = check({"script": script(source)})
        self.assertEqual(result["abi"], ABI_VERSION)
        self.assertTrue(result["ok"])
        self.assertEqual(result["functions"], ["render", "helper"])
        self.assertTrue(result["has_entrypoint"])
        code, regexes = marshal.loads(base64.b64decode(result["code"]))
        self.assertEqual(code.co_filename, "scripts/s.py")
        self.assertEqual([made[0] for _, made in regexes], ["a+"])
        self.assertFalse(check({"script": script(source, entrypoint="nope")})["has_entrypoint"])

    def test_a_syntax_error_is_raised_for_the_error_document(self):
        doc = raised(check, {"script": script("def render(ctx):\n    return (\n")})
        self.assertFalse(doc["ok"])
        self.assertEqual(doc["error"]["type"], "SyntaxError")
        self.assertEqual(doc["error"]["line"], 2)
        self.assertIn("column", doc["error"])
        self.assertRegex(doc["error"]["message"], r"\(line 2, column \d+\)$")


class Precompiled(unittest.TestCase):
    def test_the_code_of_a_check_of_the_same_file(self):
        checked = check({"script": script("X = 1\n")})
        code, regexes = precompiled({"code": checked["code"]}, "scripts/s.py")
        self.assertIsInstance(code, types.CodeType)
        self.assertEqual(regexes, ())

    def test_anything_else_is_compiled_anew(self):
        checked = check({"script": script("X = 1\n")})
        for blob, filename in ((checked["code"], "scripts/other.py"), (None, "scripts/s.py"),
                               ("", "scripts/s.py"), ("not base64!", "scripts/s.py"),
                               (base64.b64encode(b"junk").decode(), "scripts/s.py"),
                               (base64.b64encode(marshal.dumps((1, ()))).decode(),
                                "scripts/s.py")):
            with self.subTest(blob=blob, filename=filename):
                self.assertEqual(precompiled({"code": blob}, filename), (None, ()))


class Preloaded(unittest.TestCase):
    """Scripts compiled into a site snapshot, and requests that name them."""

    def setUp(self):
        support.install_fake_host()
        _PRELOADED.clear()
        re.purge()

    def tearDown(self):
        _PRELOADED.clear()

    def preloaded_request(self, key, **script_fields):
        request = macro_request("")
        request["script"].update(preloaded=key, **script_fields)
        return request

    def test_a_filed_script_runs_from_its_key_without_its_source(self):
        source = "import re\n\ndef render(ctx):\n    return re.sub('o+', '0', ctx.args['t'])\n"
        self.assertEqual(list(preload_scripts([dict(script(source), key="k1")])), ["k1"])
        self.assertIn((str, "o+", 0), re._cache)
        request = self.preloaded_request("k1")
        request["call"] = {"name": "s", "args": {"t": "foo"}}
        self.assertEqual(macro(request)["html"], "f0")

    def test_an_error_in_a_filed_script_quotes_its_lines(self):
        source = "def render(ctx):\n    return str(1 / 0)\n"
        preload_scripts([dict(script(source), key="k2")])
        error = raised(macro, self.preloaded_request("k2"))["error"]
        self.assertEqual((error["type"], error["line"]), ("ZeroDivisionError", 2))
        self.assertIn("return str(1 / 0)", error["traceback"])

    def test_a_script_that_does_not_compile_is_not_filed(self):
        filed = preload_scripts([dict(script("def render(ctx)\n"), key="bad"),
                                 dict(script("X = 1\n", slug="t"), key="good")])
        self.assertEqual(list(filed), ["good"])
        self.assertNotIn("bad", _PRELOADED)

    def test_a_key_the_snapshot_does_not_hold_is_an_error_not_a_guess(self):
        preload_scripts([dict(script("def render(ctx):\n    return 'x'\n"), key="k3")])
        doc = raised(macro, self.preloaded_request("other"))
        self.assertEqual(doc["error"]["type"], "LookupError")

    def test_a_filed_module_body_runs_on_every_call(self):
        # Filing compiles and runs nothing: state made by the module body is
        # made by each call, as for a script sent with its source.
        source = "SEEN = []\n\ndef render(ctx):\n    SEEN.append(1)\n    return str(len(SEEN))\n"
        preload_scripts([dict(script(source), key="k4")])
        self.assertEqual([macro(self.preloaded_request("k4"))["html"] for _ in range(2)],
                         ["1", "1"])


class Macro(unittest.TestCase):
    def setUp(self):
        self.host = support.install_fake_host()
        re.purge()

    def test_a_str_or_an_html_dict(self):
        for body in ("return 'x'", "return {'html': 'x'}"):
            with self.subTest(body=body):
                result = macro(macro_request(f"def render(ctx):\n    {body}\n"))
                self.assertEqual(result, {"abi": ABI_VERSION, "ok": True, "html": "x"})

    def test_precompiled_code_and_regexes(self):
        source = "import re\n\ndef render(ctx):\n    return re.sub('o+', '0', 'foo')\n"
        checked = check({"script": script(source)})
        request = macro_request(source)
        request["script"]["code"] = checked["code"]
        self.assertEqual(macro(request)["html"], "f0")
        self.assertIn((str, "o+", 0), re._cache)

    def test_ctx_is_read_only_and_frozen(self):
        source = ("def render(ctx):\n"
                  "    return repr((dict(ctx.args), ctx.positional, ctx.body, ctx.call.name,\n"
                  "                 ctx.page['title'], type(ctx.args).__name__))\n")
        request = macro_request(source, call={"name": "n", "args": {"a": [1]},
                                              "positional": ["p"], "body": "b"},
                                page={"title": "T"})
        self.assertEqual(macro(request)["html"],
                         "({'a': (1,)}, ('p',), 'b', 'n', 'T', 'mappingproxy')")
        self.assertEqual(self.host.position_asked, 0)

    def test_the_page_is_read_only_all_the_way_down(self):
        source = ("def render(ctx):\n"
                  "    p = ctx.page\n"
                  "    assert p.tags is p['tags']\n"
                  "    for attempt in (lambda: p.extra.__setitem__('a', 2),\n"
                  "                    lambda: p.extra['n'].append(3),\n"
                  "                    lambda: setattr(p, 'title', 'U')):\n"
                  "        try:\n"
                  "            attempt()\n"
                  "        except (TypeError, AttributeError):\n"
                  "            pass\n"
                  "        else:\n"
                  "            return 'changed'\n"
                  "    return repr((p.tags, type(p.extra).__name__, p.extra['n'],\n"
                  "                 len(p.resources), p.resources[0]['name'],\n"
                  "                 type(p.resources[0]).__name__))\n")
        page = {"title": "T", "tags": ["a", "b"], "extra": {"a": 1, "n": [1, 2]},
                "path": "content/posts/t/index.md",
                "resources": [{"name": "c.jpg", "size": 3, "media_type": "image/jpeg",
                               "sha256": "00"}]}
        result = macro(macro_request(source, page=page))
        self.assertEqual(result["html"],
                         "(('a', 'b'), 'mappingproxy', (1, 2), 1, 'c.jpg', 'mappingproxy')")

    def test_missing_arguments_read_as_empty(self):
        source = "def render(ctx):\n    return repr((dict(ctx.args), ctx.positional, ctx.body))\n"
        self.assertEqual(macro(macro_request(source))["html"], "({}, (), None)")

    def test_a_missing_entrypoint_lists_the_functions(self):
        result = macro(macro_request("def b():\n    pass\ndef a():\n    pass\n_c = 1\n"))
        self.assertEqual(result, {"abi": ABI_VERSION, "ok": False, "error": {
            "type": "EntrypointMissing", "traceback": "",
            "message": "no function `render` in the script (functions found: a, b)"}})
        result = macro(macro_request("X = 1\n"))
        self.assertIn("(functions found: none)", result["error"]["message"])

    def test_the_wrong_shape_is_a_type_error(self):
        for body in ("[1, 2]", "{'html': 5}", "{'html': 'x', 'more': 1}", "None"):
            with self.subTest(body=body):
                doc = raised(macro, macro_request(f"def render(ctx):\n    return {body}\n"))
                self.assertEqual(doc["error"]["type"], "TypeError")

    def test_an_error_points_at_the_script_s_own_lines(self):
        source = "import json\n\ndef helper(x):\n    return 1 / x\n\n" \
                 "def render(ctx):\n    return str(helper(0))\n"
        doc = raised(macro, macro_request(source))
        error = doc["error"]
        self.assertEqual((error["type"], error["message"], error["line"]),
                         ("ZeroDivisionError", "division by zero", 4))
        self.assertIn('File "scripts/s.py", line 4, in helper', error["traceback"])
        self.assertIn("return 1 / x", error["traceback"])
        self.assertNotIn("abi.py", error["traceback"])
        self.assertTrue(error["traceback"].startswith("Traceback (most recent call last):"))

    def test_exit_and_interrupt(self):
        doc = raised(macro, macro_request("import sys\ndef render(ctx):\n    sys.exit(3)\n"))
        self.assertEqual(doc["error"]["message"], "the script called sys.exit(3)")
        doc = raised(macro, macro_request("def render(ctx):\n    raise KeyboardInterrupt\n"))
        self.assertEqual(doc["error"]["message"], "the script raised KeyboardInterrupt")


class Transform(unittest.TestCase):
    def request(self, body):
        return {"abi": ABI_VERSION, "kind": "transform",
                "script": script(f"def transform(post):\n    {body}\n", entrypoint="transform"),
                "post": {"path": "content/p.md", "front_matter": {"tags": ["A"]}, "body": "b"}}

    def test_unchanged(self):
        for body in ("return None", "return 'unchanged'"):
            with self.subTest(body=body):
                self.assertEqual(transform(self.request(body)),
                                 {"abi": ABI_VERSION, "ok": True, "unchanged": True})

    def test_a_changed_post(self):
        result = transform(self.request(
            "return dict(post, front_matter={'tags': ['a']}, path='ignored')"))
        self.assertEqual(result["post"], {"path": "content/p.md",
                                          "front_matter": {"tags": ["a"]}, "body": "b"})
        result = transform(self.request("return {'body': 'new'}"))
        self.assertEqual(result["post"], {"path": "content/p.md",
                                          "front_matter": {"tags": ["A"]}, "body": "new"})

    def test_the_wrong_shape_is_a_type_error(self):
        for body in ("return 5", "return {'body': 5}", "return {'front_matter': []}"):
            with self.subTest(body=body):
                doc = raised(transform, self.request(body))
                self.assertEqual(doc["error"]["type"], "TypeError")


if __name__ == "__main__":
    unittest.main()
