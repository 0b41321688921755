"""
---
kind: hook
hook: codeblock
languages: [chart]
description: A ```chart block of "label value" lines becomes a bar chart (inline SVG).
version: 1
---
"""
import html

BAR = 18
WIDTH = 420
CHAR = 7  # a label's width per character, about, at the theme's 11px


def render(ctx):
    rows = []
    for number, line in enumerate(ctx.code.text.splitlines(), start=1):
        if not line.strip():
            continue
        label, _, value = line.rpartition(" ")
        try:
            rows.append((label.strip(), float(value)))
        except ValueError:
            raise ValueError(f"chart line {number}: expected `label value`, got {line!r}")
    if not rows:
        return None
    top = max(value for _, value in rows) or 1
    height = BAR * len(rows)
    # The bars start after the longest label, and leave room for the value.
    start = CHAR * max(len(label) for label, _ in rows) + 10
    room = max(WIDTH - start - 40, 40)
    bars = []
    for i, (label, value) in enumerate(rows):
        width = round(value / top * room)
        y = i * BAR
        bars.append(
            f'<text x="0" y="{y + 13}">{html.escape(label)}</text>'
            f'<rect x="{start}" y="{y + 3}" width="{width}" height="{BAR - 6}"></rect>'
            f'<text x="{start + width + 4}" y="{y + 13}">{value:g}</text>'
        )
    return (f'<figure class="chart"><svg viewBox="0 0 {WIDTH} {height}" role="img" '
            f'aria-label="bar chart">{"".join(bars)}</svg></figure>')
