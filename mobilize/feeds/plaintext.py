"""Organizers' Markdown as plain text for calendar descriptions.

Calendar clients show DESCRIPTION as text, so links keep their address
("RSVP (https://...)") and list items keep a marker instead of markup.
"""

import re

from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_BLANK_LINES = re.compile(r"\n{3,}")


def _inline(children) -> str:
    out, links = [], []
    for token in children or ():
        kind = token.type
        if kind in ("text", "code_inline", "html_inline"):
            out.append(token.content)
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "image":
            out.append(token.content)
        elif kind == "link_open":
            links.append((token.attrGet("href") or "", len(out)))
        elif kind == "link_close" and links:
            href, start = links.pop()
            label = "".join(out[start:])
            if href and href != label and f"mailto:{label}" != href:
                out.append(f" ({href})")
    return "".join(out)


def markdown_to_text(source: str) -> str:
    """Plain text with paragraphs, list markers and link addresses kept."""
    out: list[str] = []
    lists: list[int | None] = []  # None for bullets, the next number for ordered lists
    first_cell = True
    for token in _markdown.parse(source or ""):
        kind = token.type
        if kind == "inline":
            out.append(_inline(token.children))
        elif kind in ("paragraph_close", "heading_close", "hr"):
            if kind == "hr":
                out.append("---")
            out.append("\n" if token.hidden else "\n\n")
        elif kind == "bullet_list_open":
            lists.append(None)
        elif kind == "ordered_list_open":
            lists.append(int(token.attrGet("start") or 1))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists:
                out.append("\n")
        elif kind == "list_item_open":
            number = lists[-1]
            out.append("  " * (len(lists) - 1) + ("- " if number is None else f"{number}. "))
            if number is not None:
                lists[-1] = number + 1
        elif kind in ("fence", "code_block"):
            out.append(token.content + "\n")
        elif kind == "tr_open":
            first_cell = True
        elif kind in ("th_open", "td_open"):
            out.append("" if first_cell else " | ")
            first_cell = False
        elif kind in ("tr_close", "table_close"):
            out.append("\n")
    text = "\n".join(line.rstrip() for line in "".join(out).split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()
