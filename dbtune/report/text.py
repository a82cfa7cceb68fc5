"""Plain-text and Markdown renderers."""

from __future__ import annotations

from dbtune.report.document import Document, Image, Paragraph, Preformatted, Table, cell


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def text_table(table: Table) -> list[str]:
    cells = [[cell(v) for v in row] for row in table.rows]
    widths = [len(h) for h in table.headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))

    def line(values: list[str], raw: list[object] | None) -> str:
        parts = []
        for i, value in enumerate(values):
            numeric = table.numeric and raw is not None and _is_number(raw[i])
            parts.append(value.rjust(widths[i]) if numeric else value.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    out = [line(table.headers, None), "  ".join("-" * w for w in widths)]
    out.extend(line(values, raw) for values, raw in zip(cells, table.rows, strict=True))
    return out


def render_text(document: Document) -> str:
    lines = [document.title, "=" * len(document.title)]
    if document.subtitle:
        lines.append(document.subtitle)
    for section in document.sections:
        lines += ["", section.title, "-" * len(section.title)]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                lines.append(block.text)
            elif isinstance(block, Preformatted):
                lines.append(block.text.rstrip("\n"))
            elif isinstance(block, Table):
                if block.caption:
                    lines.append(block.caption)
                lines += text_table(block)
            elif isinstance(block, Image):
                lines.append(f"[plot: {block.path.name}] {block.caption}".rstrip())
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(document: Document) -> str:
    lines = [f"# {document.title}", ""]
    if document.subtitle:
        lines += [document.subtitle, ""]
    for section in document.sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                lines += [block.text, ""]
            elif isinstance(block, Preformatted):
                lines += ["```", block.text.rstrip("\n"), "```", ""]
            elif isinstance(block, Table):
                if block.caption:
                    lines += [f"*{block.caption}*", ""]
                lines.append("| " + " | ".join(block.headers) + " |")
                lines.append("|" + "|".join("---" for _ in block.headers) + "|")
                for row in block.rows:
                    values = [cell(v).replace("|", "\\|") for v in row]
                    lines.append("| " + " | ".join(values) + " |")
                lines.append("")
            elif isinstance(block, Image):
                lines += [f"![{block.caption}]({block.path.name})", ""]
    return "\n".join(lines).rstrip() + "\n"
