"""The JSON the dispatcher speaks: its format, and that patching `json`
afterwards changes nothing about it."""

import json
import json.encoder
import unittest

import support  # noqa: F401 - puts the guest's sources on the path

from blogmark_guest.jsoncodec import from_json, to_json


class ToJson(unittest.TestCase):
    def test_a_document_is_compact_with_python_s_separators(self):
        self.assertEqual(to_json({"abi": 1, "ok": True, "list": [1, None, "x"]}),
                         '{"abi": 1, "ok": true, "list": [1, null, "x"]}')

    def test_text_stays_unescaped_unless_ascii_only(self):
        self.assertEqual(to_json("é\ud800"), '"é\ud800"')
        self.assertEqual(to_json("é\ud800", ascii_only=True), '"\\u00e9\\ud800"')

    def test_a_value_json_cannot_hold_is_a_type_error(self):
        with self.assertRaisesRegex(TypeError, "Object of type set is not JSON serializable"):
            to_json({"front_matter": {1, 2}})

    def test_patching_json_afterwards_changes_nothing(self):
        saved = (json.JSONEncoder.item_separator, json.dumps, json.encoder.c_make_encoder)
        try:
            json.JSONEncoder.item_separator = ";"
            json.dumps = lambda *a, **k: "forged"
            json.encoder.c_make_encoder = None
            self.assertEqual(to_json({"a": [1, 2]}), '{"a": [1, 2]}')
        finally:
            json.JSONEncoder.item_separator, json.dumps, json.encoder.c_make_encoder = saved


class FromJson(unittest.TestCase):
    def test_a_document_is_read(self):
        self.assertEqual(from_json('{"abi": 1, "kind": "check", "x": [1.5, null]}'),
                         {"abi": 1, "kind": "check", "x": [1.5, None]})

    def test_round_trip(self):
        doc = {"s": "a\u2028b\n\"", "n": -3, "f": 0.1, "nested": {"l": [[], {}]}}
        self.assertEqual(from_json(to_json(doc)), doc)
        self.assertEqual(from_json(to_json(doc, ascii_only=True)), doc)

    def test_no_document_is_a_value_error(self):
        for text in ("", "   ", "nope"):
            with self.subTest(text=text), self.assertRaisesRegex(ValueError, "not a JSON document"):
                from_json(text)

    def test_anything_after_the_document_is_a_value_error(self):
        with self.assertRaisesRegex(ValueError, "extra data after the JSON document at 2"):
            from_json("{} {}")

    def test_patching_json_loads_changes_nothing(self):
        saved = json.loads
        try:
            json.loads = None
            self.assertEqual(from_json("[1]"), [1])
        finally:
            json.loads = saved


if __name__ == "__main__":
    unittest.main()
