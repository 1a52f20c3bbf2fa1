"""Turning titles and tags into URL- and file-name-safe slugs."""

from __future__ import annotations

import re


def slugify(text: str) -> str:
    """Lower-case words joined by dashes, e.g. "Weekly Plan!" -> "weekly-plan"."""
    ascii_text = text.encode("ascii").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "untitled"
