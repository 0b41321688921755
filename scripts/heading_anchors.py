"""
---
kind: hook
hook: heading
description: Each heading gets a "#" link to itself, as documentation sites have.
version: 1
---
"""


def render(ctx):
    h = ctx.heading
    if h.level == 1:
        return None  # the page title keeps the default
    # Keep the id: the table of contents and links to #anchors point at it.
    return (f'<h{h.level} id="{h.id}">{h.text} '
            f'<a class="anchor" href="#{h.id}" aria-label="Link to this section">#</a>'
            f"</h{h.level}>")
