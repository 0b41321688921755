"""
---
kind: macro
name: related
description: Other posts that share this post's first tag, e.g. {{< related n=3 >}}
uses_page: true
version: 1
---
"""
import html


def render(ctx):
    tags = ctx.page["tags"]
    if not tags:
        return ""
    n = int(ctx.args.get("n", 3))
    # A query: the result is kept until the answer (these posts' titles,
    # URLs, dates) changes.
    posts = [p for p in ctx.site.pages(section="posts", tag=tags[0], limit=n + 1)
             if p.slug != ctx.page["slug"]][:n]
    if not posts:
        return ""
    items = "".join(f'<li><a href="{html.escape(p.url)}">{html.escape(p.title)}</a></li>'
                    for p in posts)
    return f'<aside class="related"><h2>Related</h2><ul>{items}</ul></aside>'
