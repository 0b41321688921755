"""
---
kind: hook
hook: image
needs: [images]
uses_page: true
description: A bundle's image as a responsive <img>, with WebP sizes made by the host (srcset); other images as they are.
---
"""
import html

WIDTHS = (480, 800, 1200)


def render(ctx):
    image = ctx.image
    # Only the page's own files: a remote or static image keeps its plain <img>.
    if image.get("resource") is None:
        return None
    original = image.resource.width or WIDTHS[-1]
    widths = sorted({min(w, original) for w in WIDTHS})
    picture = ctx.resource(image.src)
    shown = picture.resize(min(800, original), format="webp")
    srcset = picture.srcset(widths, format="webp")
    return (
        f'<img src="{shown.url}" srcset="{srcset}" sizes="(max-width: 800px) 100vw, 800px" '
        f'width="{shown.width}" height="{shown.height}" alt="{html.escape(image.alt)}" '
        'loading="lazy">'
    )
