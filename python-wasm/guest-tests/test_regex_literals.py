"""A script's regular-expression literals: which calls are found, how they
are compiled ahead, and how they go into `re`'s cache."""

import _sre
import ast
import marshal
import re
import unittest

import support  # noqa: F401 - puts the guest's sources on the path

from blogmark_guest.regex_literals import compiled_regexes, prefill_regex_cache, regex_literals


def literals(source):
    return regex_literals(ast.parse(source))


class Literals(unittest.TestCase):
    def test_each_function_of_re_with_a_literal_pattern(self):
        source = ("import re\n"
                  "re.compile('a')\nre.search('b', s)\nre.match('c', s)\n"
                  "re.fullmatch('d', s)\nre.findall('e', s)\nre.finditer('f', s)\n"
                  "re.sub('g', 'x', s)\nre.subn('h', 'x', s)\nre.split(b'i', s)\n")
        self.assertEqual(literals(source), [(p, 0) for p in "abcdefgh"] + [(b"i", 0)])

    def test_through_any_name_re_is_imported_as(self):
        self.assertEqual(literals("import re as r, os\nr.compile('x')\nre.compile('y')\n"),
                         [("x", 0)])

    def test_without_import_re_there_is_none(self):
        self.assertEqual(literals("from re import compile\ncompile('x')\n"), [])

    def test_literal_flags_count_and_others_leave_the_call_out(self):
        source = ("import re\n"
                  "re.compile('a', re.I | re.M)\n"
                  "re.search('b', s, flags=re.ASCII)\n"
                  "re.sub('c', 'x', s, 0, 2)\n"
                  "re.compile(pattern='d', flags=re.VERBOSE)\n"
                  "re.compile('e', flags)\n"
                  "re.compile('f', re.NOPE)\n"
                  "re.compile(p)\n")
        self.assertEqual(literals(source), [
            ("a", re.I | re.M), ("b", re.ASCII), ("c", 2), ("d", re.VERBOSE)])

    def test_no_repeats_and_no_debug_flag(self):
        source = "import re\nre.compile('a')\nre.match('a', s)\nre.compile('b', re.DEBUG)\n"
        self.assertEqual(literals(source), [("a", 0)])

    def test_at_most_64(self):
        source = "import re\n" + "".join(f"re.compile('x{i}')\n" for i in range(100))
        found = literals(source)
        self.assertEqual(len(found), 64)
        self.assertEqual(found[-1], ("x63", 0))


class Compiled(unittest.TestCase):
    def test_each_makes_the_pattern_re_compile_makes(self):
        source = "import re\nre.compile(r'(?P<word>\\w+) (\\d+)', re.I)\nre.match(b'x+', s)\n"
        compiled = compiled_regexes(ast.parse(source))
        self.assertEqual(len(compiled), 2)
        for (flags, made), (pattern, expected_flags) in zip(
                compiled, [(r"(?P<word>\w+) (\d+)", re.I), (b"x+", 0)], strict=True):
            self.assertEqual(flags, expected_flags)
            self.assertEqual(made[0], pattern)
            built = _sre.compile(*made)
            self.assertEqual(built, re.compile(pattern, flags))
        self.assertEqual(compiled[0][1][4], {"word": 1})
        self.assertEqual(compiled[0][1][5], (None, "word", None))

    def test_a_pattern_that_fails_or_warns_is_left_to_the_call(self):
        source = "import re\nre.compile('(')\nre.compile('[[a]')\nre.compile('ok')\n"
        self.assertEqual([made[0] for _, made in compiled_regexes(ast.parse(source))], ["ok"])

    def test_they_travel_marshalled(self):
        compiled = compiled_regexes(ast.parse("import re\nre.compile('(?P<a>x)|y')\n"))
        self.assertEqual(marshal.loads(marshal.dumps(compiled)), compiled)

    def test_their_code_is_capped(self):
        # 64 literals of about 300 words each: the cap (16,384) leaves some out.
        source = "import re\n" + "".join(f"re.compile('{'a' * 290}{i}')\n" for i in range(64))
        compiled = compiled_regexes(ast.parse(source))
        self.assertLess(len(compiled), 64)
        self.assertLessEqual(sum(len(made[2]) for _, made in compiled), 16384)


class Prefill(unittest.TestCase):
    def setUp(self):
        re.purge()
        self.addCleanup(re.purge)

    def test_re_compile_then_finds_the_pattern_compiled(self):
        compiled = compiled_regexes(ast.parse("import re\nre.compile('p+q', re.I)\n"))
        prefill_regex_cache(compiled)
        cached = re._cache[(str, "p+q", re.I)]
        self.assertIs(re.compile("p+q", re.I), cached)
        self.assertIs(re.compile("p+q", re.IGNORECASE), cached)
        self.assertTrue(cached.match("PPQ"))

    def test_a_pattern_already_cached_is_kept(self):
        first = re.compile("kept")
        prefill_regex_cache(compiled_regexes(ast.parse("import re\nre.compile('kept')\n")))
        self.assertIs(re.compile("kept"), first)


if __name__ == "__main__":
    unittest.main()
