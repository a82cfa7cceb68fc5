"""Adding an entry to a model's ``Meta.indexes`` in its source file.

The file is parsed with :mod:`ast` to find the model class, its ``Meta`` and an existing
``indexes = [...]``; text is inserted at those positions and nothing else is rewritten,
so formatting and comments elsewhere survive. Missing imports go after the last
module-level import. Models defined outside a plain ``.py`` file are left alone.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any


def _class(tree: ast.Module, name: str) -> ast.ClassDef | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    return None


def _insert_lines(lines: list[str], after: int, new: list[str]) -> None:
    lines[after:after] = [line + "\n" for line in new]


def add_meta_indexes(model: Any, code: str, imports: set[str]) -> Path | None:
    """Add ``code`` to ``model``'s ``Meta.indexes``; the file changed, or ``None`` if none."""
    try:
        path = Path(inspect.getsourcefile(model) or "")
    except TypeError:
        return None
    if path.suffix != ".py" or not path.is_file():
        return None
    text = path.read_text()
    if code in text:
        return None
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    cls = _class(tree, model.__name__)
    if cls is None:
        return None
    indent = " " * cls.body[0].col_offset
    meta = next((n for n in cls.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)
    if meta is None:
        end = cls.body[-1].end_lineno or cls.body[-1].lineno
        new = [
            "",
            f"{indent}class Meta:",
            f"{indent}    indexes = [",
            f"{indent}        {code},",
            f"{indent}    ]",
        ]
        _insert_lines(lines, end, new)
    else:
        inner = " " * meta.body[0].col_offset
        target = next(
            (
                n
                for n in meta.body
                if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "indexes" for t in n.targets)
                and isinstance(n.value, ast.List)
            ),
            None,
        )
        if target is None:
            end = meta.body[-1].end_lineno or meta.body[-1].lineno
            _insert_lines(lines, end, [f"{inner}indexes = [", f"{inner}    {code},", f"{inner}]"])
        else:
            assert isinstance(target.value, ast.List)
            _append_to_list(lines, target.value, code, inner)
    text = "".join(lines)
    text = _add_imports(text, imports)
    path.write_text(text)
    return path


def _append_to_list(lines: list[str], node: ast.List, code: str, indent: str) -> None:
    """Insert ``code`` as the last element of the list literal ``node`` (ast offsets are bytes)."""
    data = "".join(lines).encode()
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line.encode()))

    def offset(line: int | None, column: int | None) -> int:
        return starts[(line or 1) - 1] + (column or 0)

    bracket = offset(node.end_lineno, (node.end_col_offset or 1) - 1)
    line_start = starts[(node.end_lineno or 1) - 1]
    own_line = not data[line_start:bracket].strip()
    pieces = [data[:bracket], b"", data[bracket:]]
    if node.elts:
        last = offset(node.elts[-1].end_lineno, node.elts[-1].end_col_offset)
        if b"," not in data[last:bracket]:
            pieces[0] = data[:last] + b"," + data[last:bracket]
    if own_line:
        head = pieces[0][: len(pieces[0]) - (bracket - line_start)]
        pieces = [head, f"{indent}    {code},\n".encode(), data[line_start:]]
    elif node.elts:
        pieces[1] = f" {code}".encode()
    else:
        pieces[1] = f"\n{indent}    {code},\n{indent}".encode()
    lines[:] = (b"".join(pieces)).decode().splitlines(keepends=True)


def _add_imports(text: str, imports: set[str]) -> str:
    missing = sorted(line for line in imports if line not in text)
    if not missing:
        return text
    tree = ast.parse(text)
    last = 0
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        last = first.end_lineno or first.lineno
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            last = node.end_lineno or node.lineno
    lines = text.splitlines(keepends=True)
    _insert_lines(lines, last, missing)
    return "".join(lines)
