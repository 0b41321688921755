"""
---
kind: transform
description: One spelling per tag (lower case, words joined by "-", no repeats), e.g. ["Rust", "rust ", "Web Assembly"] becomes ["rust", "web-assembly"]. Try it with host run-script, then --write.
---
"""
import re


def spelling(tag):
    return re.sub(r"[\s_]+", "-", str(tag).strip().lower())


def transform(post):
    tags = post["front_matter"].get("tags")
    if not isinstance(tags, list):
        return None
    normal = []
    for tag in map(spelling, tags):
        if tag and tag not in normal:
            normal.append(tag)
    if normal == tags:
        return None
    return {"front_matter": {**post["front_matter"], "tags": normal}}
