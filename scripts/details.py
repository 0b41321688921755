"""
---
kind: macro
name: details
description: A section the reader opens, e.g. {{< details summary="Spoiler" >}}*Markdown* body{{< /details >}}; open=true shows it open.
markdown: true
---
"""
import html


def render(ctx):
    summary = ctx.args.get("summary", "Details")
    if not isinstance(summary, str):
        raise ValueError("summary must be text")
    if ctx.body is None:
        raise ValueError("details needs a body: {{< details >}}...{{< /details >}}")
    opened = " open" if ctx.args.get("open") is True else ""
    # Blank lines around the body end the HTML blocks, so the body is read
    # as Markdown between them.
    return (
        f"<details{opened}><summary>{html.escape(summary)}</summary>\n\n"
        f"{ctx.body.strip()}\n\n</details>\n"
    )
