"""
---
kind: macro
name: badge
description: A coloured label, e.g. {{< badge text="new" color="green" >}}
timeout_ms: 200
fallback: "<span class=\"badge\">?</span>"
---
"""
import html

COLORS = {"blue", "green", "red", "grey"}


def render(ctx):
    text = str(ctx.args.get("text", ""))
    color = ctx.args.get("color", "grey")
    if color not in COLORS:
        raise ValueError(f"unknown color {color!r}; use one of {sorted(COLORS)}")
    return f'<span class="badge badge-{color}">{html.escape(text.upper())}</span>'
