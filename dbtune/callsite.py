"""Find the line of user code responsible for a database query.

"User code" is every Python file outside Django, dbtune itself, installed packages
(``site-packages``/``dist-packages``) and the standard library; the project's own apps,
``example_project`` and the test suite all count. Only the ``dbtune`` package directory is
excluded for dbtune, not every path that merely contains the word.

Walking is done with ``sys._getframe`` and ``f_back`` (never ``inspect.stack()``, which reads
source files), and the user-or-not decision is cached per filename, so finding a call site
costs a dict lookup per frame. Paths are reported relative to the current working directory
when they are under it, absolute otherwise.
"""

from __future__ import annotations

import functools
import os
import site
import sys
import sysconfig
from types import FrameType

import django

import dbtune
from dbtune.types import Site

_user_files: dict[str, bool] = {}
_displayed: dict[str, tuple[str, str]] = {}


@functools.cache
def _excluded_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = [
        os.path.dirname(dbtune.__file__),
        os.path.dirname(django.__file__),
        paths["stdlib"],
        paths["platstdlib"],
        paths["purelib"],
        paths["platlib"],
        *site.getsitepackages(),
        site.getusersitepackages(),
        paths["scripts"],  # console scripts such as bin/pytest, in a venv or not
        os.path.join(sys.base_prefix, "bin"),
    ]
    return tuple({os.path.join(os.path.realpath(root), "") for root in roots if root})


def _classify(filename: str) -> bool:
    if not filename or filename.startswith("<"):
        return False
    path = os.path.realpath(filename)
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return not path.startswith(_excluded_roots())


def is_user_file(filename: str) -> bool:
    """Whether code in ``filename`` (a ``co_filename``) is the user's own; cached."""
    user = _user_files.get(filename)
    if user is None:
        user = _user_files[filename] = _classify(filename)
    return user


def locate(frame: FrameType | None) -> tuple[str, int] | None:
    """``(filename, line)`` of the first user frame at or above ``frame``, else ``None``.

    This is the hot-path form: it formats nothing, so callers on every query stay cheap.
    """
    cache = _user_files
    while frame is not None:
        filename = frame.f_code.co_filename
        user = cache.get(filename)
        if user is None:
            user = cache[filename] = _classify(filename)
        if user:
            return filename, frame.f_lineno
        frame = frame.f_back
    return None


def user_frames(frame: FrameType | None, limit: int = 50) -> tuple[tuple[str, int], ...]:
    """``(filename, line)`` of up to ``limit`` user frames at or above ``frame``, innermost
    first."""
    found: list[tuple[str, int]] = []
    while frame is not None and len(found) < limit:
        if is_user_file(frame.f_code.co_filename):
            found.append((frame.f_code.co_filename, frame.f_lineno))
        frame = frame.f_back
    return tuple(found)


def display(filename: str) -> str:
    """``filename`` relative to the working directory when under it, else absolute."""
    cwd = os.getcwd()
    cached = _displayed.get(filename)
    if cached is not None and cached[0] == cwd:
        return cached[1]
    path = os.path.abspath(filename)
    shown = os.path.relpath(path, cwd) if path.startswith(os.path.join(cwd, "")) else path
    _displayed[filename] = (cwd, shown)
    return shown


def format_site(location: tuple[str, int] | None) -> Site | None:
    """``"path.py:LINE"`` for a :func:`locate` result (``None`` stays ``None``)."""
    return None if location is None else f"{display(location[0])}:{location[1]}"


def find(skip: int = 0) -> Site | None:
    """The user call site of the code calling this function, as ``"path.py:LINE"``.

    ``skip`` ignores that many further frames first (for helpers that wrap this one).
    """
    return format_site(locate(sys._getframe(1 + skip)))


def clear_cache() -> None:
    """Forget every cached decision (after changing ``sys.path`` or installed packages)."""
    _user_files.clear()
    _displayed.clear()
    _excluded_roots.cache_clear()
