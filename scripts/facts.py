"""
---
kind: macro
name: facts
description: A TOML body as a definition list, e.g. {{< facts >}}language = "Rust"{{< /facts >}}; each term gets an id to link to.
---
"""
import html
import tomllib

from textkit import slugify


def render(ctx):
    if ctx.body is None:
        raise ValueError('facts needs a TOML body: {{< facts >}}key = "value"{{< /facts >}}')
    try:
        table = tomllib.loads(ctx.body)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"the body is not TOML: {e}") from None
    rows = []
    for key, value in table.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        rows.append(
            f'<dt id="fact-{slugify(key)}">{html.escape(key)}</dt>'
            f"<dd>{html.escape(shown)}</dd>"
        )
    return '<dl class="facts">' + "".join(rows) + "</dl>"
