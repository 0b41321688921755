"""
---
kind: generator
description: A page per book of data/books/, a reading list, and books.json.
version: 1
---
"""
import json


def generate(ctx):
    books = sorted(ctx.data["books"].items())
    pages, listed = [], []
    for key, book in books:
        pages.append({
            "path": f"pages/books/{key}.md",
            "front_matter": {"title": book.title, "url": f"/books/{key}/", "nav": False},
            "body": (f"*{book.title}* by {book.author} ({book.year}).\n\n{book.note}\n\n"
                     f'Rating: {{{{< badge text="{"★" * book.rating}" color="blue" >}}}}\n'),
        })
        listed.append(f"- [{book.title}](/books/{key}/), {book.author}")
    pages.append({
        "path": "pages/reading-list.md",
        "front_matter": {"title": "Reading list"},
        "body": "Made by `scripts/books.py` from `data/books/`.\n\n" + "\n".join(listed) + "\n",
    })
    index = [{"key": key, "title": book.title, "url": f"/books/{key}/"} for key, book in books]
    return {"pages": pages, "files": [{"output": "books.json", "content": json.dumps(index)}]}
