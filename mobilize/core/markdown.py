"""Markdown written by organizers, rendered to HTML that is safe to show anyone."""

import nh3
from markdown_it import MarkdownIt

# Raw HTML in the source is escaped by the renderer; nh3 then allows only these.
ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "a", "ul", "ol", "li", "blockquote", "code", "pre",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"])


def render_markdown(source: str) -> str:
    html = _markdown.render(source or "")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="nofollow noopener noreferrer")
