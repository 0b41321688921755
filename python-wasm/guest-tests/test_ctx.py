"""The `ctx` a macro is given, over a fake host."""

import unittest

import support

support.install_fake_host()

from blogmark_guest.ctx import CallInfo, Context  # noqa: E402 - after the fake host


class CallInfoTest(unittest.TestCase):
    def setUp(self):
        self.host = support.install_fake_host()

    def test_the_name_needs_no_host_call(self):
        call = CallInfo("youtube")
        self.assertEqual(call["name"], "youtube")
        self.assertEqual(call.name, "youtube")
        self.assertEqual(self.host.position_asked, 0)

    def test_the_position_is_asked_of_the_host_once_on_first_read(self):
        self.host.position = support.Position("content/post.md", 12, 3)
        call = CallInfo("x")
        self.assertEqual((call.file, call["line"], call.column), ("content/post.md", 12, 3))
        self.assertEqual(self.host.position_asked, 1)
        self.assertEqual(dict(call), {"name": "x", "file": "content/post.md", "line": 12,
                                      "column": 3})
        self.assertEqual(self.host.position_asked, 1)

    def test_no_position_reads_as_empty(self):
        call = CallInfo("x")
        self.assertEqual((call.file, call.line, call.column), ("", 0, 0))

    def test_a_mapping_of_four_keys_read_only(self):
        call = CallInfo("x")
        self.assertEqual(list(call), ["name", "file", "line", "column"])
        self.assertEqual(len(call), 4)
        self.assertIn("line", call)
        self.assertNotIn("page", call)
        with self.assertRaises(KeyError):
            call["page"]
        with self.assertRaisesRegex(AttributeError, "ctx.call has no field 'page'"):
            _ = call.page
        with self.assertRaisesRegex(AttributeError, "ctx.call is read-only"):
            call.name = "y"
        self.assertEqual(self.host.position_asked, 0)

    def test_repr_and_module(self):
        self.assertEqual(repr(CallInfo("x")),
                         "CallInfo({'name': 'x', 'file': '', 'line': 0, 'column': 0})")
        self.assertEqual(CallInfo.__module__, "dispatcher")


class ContextTest(unittest.TestCase):
    def setUp(self):
        self.host = support.install_fake_host()

    def test_fields_read_only(self):
        ctx = Context({"args": {"a": 1}, "body": None})
        self.assertEqual(ctx.args, {"a": 1})
        self.assertIsNone(ctx.body)
        with self.assertRaisesRegex(AttributeError, "ctx has no field 'page'"):
            _ = ctx.page
        with self.assertRaisesRegex(AttributeError, "ctx is read-only"):
            ctx.body = "x"
        self.assertEqual(repr(ctx), "Context({'args': {'a': 1}, 'body': None})")
        self.assertEqual(Context.__module__, "dispatcher")

    def test_lazy_fields_are_made_once_on_first_read(self):
        made = []

        def site(source):
            made.append(source)
            return {"title": source}

        ctx = Context({"body": "b"}, "T", {"site": site})
        self.assertEqual(made, [])
        self.assertIs(ctx.site, ctx.site)
        self.assertEqual((ctx.site, made), ({"title": "T"}, ["T"]))
        with self.assertRaisesRegex(AttributeError, "ctx has no field 'page'"):
            _ = ctx.page
        # Shown like the others, whether read yet or not.
        fresh = Context({"body": "b"}, "U", {"site": site})
        self.assertEqual(repr(fresh), "Context({'body': 'b', 'site': {'title': 'U'}})")
        self.assertEqual(repr(ctx), "Context({'body': 'b', 'site': {'title': 'T'}})")

    def test_log_sends_one_line_at_its_level(self):
        ctx = Context({})
        ctx.log("hello")
        ctx.log(42, level="warn")
        ctx.log("x", "debug")
        ctx.log("y", level="nonsense")
        self.assertEqual(self.host.logged, [
            (support.Level.INFO, "hello"), (support.Level.WARN, "42"),
            (support.Level.DEBUG, "x"), (support.Level.INFO, "y")])


if __name__ == "__main__":
    unittest.main()
