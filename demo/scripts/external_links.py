"""
---
kind: hook
hook: link
description: Links to other sites open with rel="external noopener" and an arrow.
version: 1
---
"""
import html


def render(ctx):
    link = ctx.link
    site = ctx.site.base_url  # `ref` gives the site's own full URLs
    if not link.url.startswith(("http://", "https://")) or (site and link.url.startswith(site)):
        return None  # links inside the site keep the default rendering
    title = f' title="{html.escape(link.title)}"' if link.title else ""
    return (f'<a href="{html.escape(link.url)}"{title} rel="external noopener">'
            f'{link.text}<span class="external" aria-hidden="true"> ↗</span></a>')
