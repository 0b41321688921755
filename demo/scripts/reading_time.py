"""
---
kind: transform
description: Adds extra.reading_minutes (200 words a minute) to every post.
order: 10
---
"""
import re

WORDS_PER_MINUTE = 200


def transform(post):
    words = len(re.findall(r"\w+", post["body"]))
    minutes = max(1, round(words / WORDS_PER_MINUTE))
    extra = dict(post["front_matter"].get("extra") or {})
    if extra.get("reading_minutes") == minutes:
        return None
    extra["reading_minutes"] = minutes
    return {"front_matter": {**post["front_matter"], "extra": extra}}
