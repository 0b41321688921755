"""
---
kind: macro
name: word_count
description: Wraps its body and says how many words it holds.
markdown: true
fallback: ""
---
"""
import re


def render(ctx):
    body = ctx.body or ""
    words = len(re.findall(r"\w+", body))
    return f"{body.strip()}\n\n*({words} words)*\n"
