"""
---
kind: hook
hook: codeblock
languages: [mermaid]
description: A ```mermaid block is left for mermaid.js to draw, instead of highlighted.
version: 1
---
"""
import html


def render(ctx):
    # mermaid.js (loaded by the site's template) draws every `pre.mermaid`.
    return f'<pre class="mermaid">{html.escape(ctx.code.text)}</pre>'
