"""Self-contained HTML renderer: inline CSS, PNG plots embedded as data URIs."""

from __future__ import annotations

import base64
import html

from dbtune.report.document import Document, Image, Paragraph, Preformatted, Table, cell

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}caption{text-align:left;color:#555}
th,td{border:1px solid #ddd;padding:.25rem .6rem;vertical-align:top}th{background:#f5f5f5}
td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f7f7f7;padding:.7rem;overflow-x:auto}img{max-width:100%}
.sub{color:#666}
"""


def _table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    rows = []
    for row in table.rows:
        cells = []
        for value in row:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            css = ' class="n"' if numeric and table.numeric else ""
            cells.append(f"<td{css}>{html.escape(cell(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _image(image: Image) -> str:
    data = base64.b64encode(image.path.read_bytes()).decode("ascii")
    alt = html.escape(image.caption or image.path.name)
    figure = f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
    if image.caption:
        figure += f"<figcaption>{html.escape(image.caption)}</figcaption>"
    return figure + "</figure>"


def render_html(document: Document) -> str:
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(document.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(document.title)}</h1>",
    ]
    if document.subtitle:
        parts.append(f'<p class="sub">{html.escape(document.subtitle)}</p>')
    for section in document.sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Paragraph):
                parts.append(f"<p>{html.escape(block.text)}</p>")
            elif isinstance(block, Preformatted):
                parts.append(f"<pre>{html.escape(block.text)}</pre>")
            elif isinstance(block, Table):
                parts.append(_table(block))
            elif isinstance(block, Image):
                parts.append(_image(block))
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
