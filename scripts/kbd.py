"""
---
kind: macro
name: kbd
description: Keys to press, e.g. {{< kbd "Ctrl+Shift+P" >}} gives Ctrl, Shift and P each in a <kbd>.
---
"""
import html


def render(ctx):
    keys = ctx.args.get("keys")
    if keys is None and len(ctx.positional) == 1:
        keys = ctx.positional[0]
    if not isinstance(keys, str) or not keys.strip():
        raise ValueError('give the keys once, e.g. {{< kbd "Ctrl+C" >}} or keys="Ctrl+C"')
    # "Ctrl++" means Ctrl and the plus key: split on a "+" only between keys.
    parts, key = [], ""
    for ch in keys.strip():
        if ch == "+" and key.strip():
            parts.append(key.strip())
            key = ""
        else:
            key += ch
    parts.append(key.strip())
    if not all(parts):
        raise ValueError(f"an empty key in {keys!r}")
    return "+".join(f"<kbd>{html.escape(p)}</kbd>" for p in parts)
