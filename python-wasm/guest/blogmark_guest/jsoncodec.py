"""The JSON the dispatcher reads requests and writes results with.

The C encoder and scanner objects are made once, at import (snapshot time),
and keep their settings inside: a script that patches `json` within its
request (`json.dumps`, `json.JSONEncoder.item_separator`,
`json.encoder.c_make_encoder`) changes nothing about how its answer is
encoded.
"""

import json
import json.decoder
import json.encoder
import json.scanner


def _unserializable(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder and scanner objects keep their settings inside: patching
# `json.JSONEncoder`, `json.dumps` or `json.encoder.*` afterwards changes
# nothing about these.
def _encoder(escape):
    return json.encoder.c_make_encoder(
        None, _unserializable, escape, None, ": ", ", ", False, False, True)


_ENCODE = _encoder(json.encoder.c_encode_basestring)
_ENCODE_ASCII = _encoder(json.encoder.c_encode_basestring_ascii)
_SCAN = json.scanner.c_make_scanner(json.decoder.JSONDecoder())


def to_json(value, ascii_only=False):
    return "".join((_ENCODE_ASCII if ascii_only else _ENCODE)(value, 0))


def from_json(text):
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        raise ValueError("not a JSON document") from None
    if end != len(text):
        raise ValueError(f"extra data after the JSON document at {end}")
    return value
