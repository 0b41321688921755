"""
---
kind: generator
description: search.json, every post's title, URL, date, tags and summary, for a client-side search.
version: 1
---
"""
import json


def generate(ctx):
    posts = ctx.site.pages(section="posts")
    index = [{"title": p.title, "url": p.url, "date": p.date, "tags": list(p.tags),
              "summary": p.summary or ""} for p in posts]
    return {"files": [{"output": "search.json",
                       "content": json.dumps(index, ensure_ascii=False)}]}
