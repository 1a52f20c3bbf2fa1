"""How task text is shown: safe Markdown with highlighted code, and a diff of long, similar
responses.

Markdown is rendered by markdown-it-py with raw HTML off (any ``<script>`` in a response is
shown as text) and its link check on (no ``javascript:`` links); fenced code is coloured by
Pygments with CSS classes (no inline styles), so the page's CSP stays strict.
"""

from __future__ import annotations

import difflib
import html
import re
from functools import cache

from markdown_it import MarkdownIt
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

DIFF_MIN_CHARS = 400  # shorter pairs are easy to compare by eye
DIFF_MIN_SIMILARITY = 0.5


def _highlight(code: str, lang: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(lang) if lang else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes it as plain code
    return highlight(code, lexer, HtmlFormatter(nowrap=True))


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "highlight": _highlight}).enable("table")


def markdown(text: str) -> Markup:
    """The text as HTML that can carry no script (see module doc)."""
    return Markup(_markdown().render(text))


def highlight_css() -> str:
    """The stylesheet of the highlighted code's classes."""
    return str(HtmlFormatter().get_style_defs(".md pre code"))


_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


def diff(first: str, second: str) -> Markup | None:
    """Word-level differences of two long, similar texts (``del``: only in the first,
    ``ins``: only in the second), or None when a diff would not help."""
    if min(len(first), len(second)) < DIFF_MIN_CHARS:
        return None
    a, b = _TOKENS.findall(first), _TOKENS.findall(second)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < DIFF_MIN_SIMILARITY:
        return None
    parts = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = html.escape("".join(a[i1:i2])), html.escape("".join(b[j1:j2]))
        if op == "equal":
            parts.append(old)
            continue
        if old:
            parts.append(f"<del>{old}</del>")
        if new:
            parts.append(f"<ins>{new}</ins>")
    return Markup("".join(parts))
