"""
---
kind: macro
name: gh
description: Links to GitHub, e.g. {{< gh "rust-lang/rust#1" >}} (issue or pull request), {{< gh "rust-lang/rust" >}} (repository), {{< gh "@octocat" >}} (user).
---
"""
import html
import re

NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
REPO = rf"{NAME}/[A-Za-z0-9._-]{{1,100}}"
FORMS = [
    (re.compile(rf"({REPO})#([0-9]{{1,9}})"), lambda m: f"{m[1]}/issues/{m[2]}"),
    (re.compile(rf"({REPO})"), lambda m: m[1]),
    (re.compile(rf"@({NAME})"), lambda m: m[1]),
]


def render(ctx):
    if len(ctx.positional) != 1 or not isinstance(ctx.positional[0], str):
        raise ValueError('give one reference, e.g. {{< gh "owner/repo#12" >}}')
    ref = ctx.positional[0].strip()
    for pattern, path in FORMS:
        match = pattern.fullmatch(ref)
        if match:
            url = "https://github.com/" + path(match)
            return f'<a href="{html.escape(url)}">{html.escape(ref)}</a>'
    raise ValueError(f"{ref!r} is not owner/repo, owner/repo#number or @user")
