"""The document model: sections of paragraphs, tables, preformatted text and images."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Paragraph:
    text: str


@dataclass
class Preformatted:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list[object]]
    caption: str = ""
    numeric: bool = True
    """Right-align cells that hold numbers."""


@dataclass
class Image:
    path: Path
    caption: str = ""


Block = Paragraph | Preformatted | Table | Image


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, block: Block) -> Section:
        self.blocks.append(block)
        return self


@dataclass
class Document:
    title: str
    sections: list[Section] = field(default_factory=list)
    subtitle: str = ""

    def section(self, title: str) -> Section:
        section = Section(title)
        self.sections.append(section)
        return section


def cell(value: object) -> str:
    """How one table cell is written in every renderer."""
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


_BYTE_UNITS = (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("kB", 1024))


def byte_size(size_bytes: float | None) -> str:
    """``size_bytes`` in the largest unit it reaches, 3 significant figures: ``1.5 MB``.

    Units are powers of 1024 as in PostgreSQL; ``None`` (not measured) is ``-``.
    """
    if size_bytes is None:
        return "-"
    for unit, factor in _BYTE_UNITS:
        if abs(size_bytes) >= factor:
            value = size_bytes / factor
            return f"{value:.3g} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    return f"{int(size_bytes)} bytes"


def percent(part: float | None, whole: float | None) -> str:
    """``part`` of ``whole`` as a whole percentage (``-`` when either is unknown or 0)."""
    if part is None or not whole:
        return "-"
    value = 100.0 * part / whole
    return f"{value:.0f}%" if value >= 1 or value == 0 else "<1%"
