"""
---
kind: macro
name: gallery
description: The images of a page bundle as a grid, e.g. {{< gallery >}} or {{< gallery columns=2 >}}; each image links to itself.
uses_page: true
---
"""
import html


def render(ctx):
    page = ctx.page or {}
    columns = ctx.args.get("columns", 3)
    if not isinstance(columns, int) or not 1 <= columns <= 6:
        raise ValueError("columns must be a whole number from 1 to 6")
    images = [r for r in page.get("resources", ()) if r["media_type"].startswith("image/")]
    if not images:
        raise ValueError("no images beside this page: put them in its bundle folder, next to index.md")
    items = []
    for image in sorted(images, key=lambda r: r["name"]):
        name = html.escape(image["name"], quote=True)
        size = ""
        if "width" in image and "height" in image:
            size = f' width="{image["width"]}" height="{image["height"]}"'
        items.append(
            f'<a href="{name}"><img src="{name}"{size} loading="lazy" alt="{name}"></a>'
        )
    return (
        f'<div class="gallery" style="display:grid;gap:.5rem;'
        f'grid-template-columns:repeat({columns},1fr)">' + "".join(items) + "</div>"
    )
