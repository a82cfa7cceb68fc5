"""Rendering shared by every dbtune feature: one document model, several renderers.

Producers build a :class:`Document` from plain data; renderers turn it into text, Markdown
or self-contained HTML. Renderers never query a database.
"""

from __future__ import annotations

from dbtune.report.document import (
    Document,
    Image,
    Paragraph,
    Preformatted,
    Section,
    Table,
    byte_size,
    percent,
)
from dbtune.report.html import render_html
from dbtune.report.text import render_markdown, render_text

__all__ = [
    "Document",
    "Image",
    "Paragraph",
    "Preformatted",
    "Section",
    "Table",
    "byte_size",
    "percent",
    "render_html",
    "render_markdown",
    "render_text",
]
