"""Source locations: where a queryset was built, and where async code ran a query.

Both build on :mod:`dbtune.callsite` (same notion of "user code", same path display).

Async code is the hard case: Django's ``aget()``, ``acount()``, ``async for`` and friends
run the ORM in a worker thread through asgiref's ``sync_to_async``, so that thread's stack
holds no user frame at all. The user's coroutine is suspended in the event loop, awaiting
the very ``SyncToAsync.__call__`` coroutine whose ``child`` the worker is running; we find
it by walking the awaiting chain of the loop's tasks (``cr_await`` links, plus the async
generator behind an ``async for`` step). This only runs when a query has no user frame.
"""

from __future__ import annotations

import asyncio
import gc
import types
from types import CodeType, FrameType
from typing import Any, NamedTuple

from asgiref.sync import SyncToAsync
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler
from django.template.base import Node

from dbtune import callsite
from dbtune.nplusone.state import Location

_SYNC_TO_ASYNC_CALL = SyncToAsync.__call__.__code__
_MAX_DEPTH = 64

LIBRARY, USER, BUILDER, HANDLER, EXECUTE = "", "user", "builder", "handler", "execute"
"""Frame roles; any other role is the name of an ORM operation (``get``, ``save``...)."""


def code_of(function: Any) -> CodeType:
    """The code object of ``function`` (of the original, if dbtune wrapped it)."""
    return getattr(function, "__wrapped__", function).__code__  # type: ignore[no-any-return]


_ROLES: dict[CodeType, str] = {
    code_of(SyncToAsync.thread_handler): HANDLER,
    code_of(SQLCompiler.execute_sql): EXECUTE,
    code_of(SQLInsertCompiler.execute_sql): EXECUTE,
    code_of(QuerySet.get): "get",
    code_of(QuerySet.count): "count",
    code_of(QuerySet.exists): "exists",
    code_of(QuerySet.aggregate): "aggregate",
    code_of(QuerySet.create): "create",
    code_of(Model.save_base): "save",
    code_of(Model.delete): "delete",
}
"""Code objects whose frames mean something, learnt as frames are met (one dict lookup per
frame afterwards). User code that only builds querysets (a custom manager's
``get_queryset``) is a ``builder``: an access site, but not a construction site."""


def _learn(code: CodeType) -> str:
    role = LIBRARY
    if callsite.is_user_file(code.co_filename):
        role = BUILDER if code.co_name == "get_queryset" else USER
    _ROLES[code] = role
    return role


class Scan(NamedTuple):
    """What one walk up the stack found, innermost first (``template``: as
    :func:`template_site` would return it for the same frame)."""

    location: Location | None
    execute: FrameType | None
    op: str | None
    op_frame: FrameType | None
    template: Location | None = None


def scan(frame: FrameType | None) -> Scan:
    """The user line responsible for the query running at ``frame``, the compiler frame
    running it, and the ORM operation (innermost; ``create`` wins over its ``save``).

    Inside ``sync_to_async`` the user line is the awaiting coroutine's, never a frame
    beyond asgiref's thread handler (with ``async_to_sync`` those belong to the outer
    synchronous caller).
    """
    execute = op_frame = None
    op = None
    template: Location | None = None
    in_template = False
    roles = _ROLES
    while frame is not None:
        code = frame.f_code
        if code is _TEMPLATE_NODE and not in_template:
            in_template, template = True, _node_site(frame)
        role = roles.get(code)
        if role is None:
            role = _learn(code)
        if role:
            if role in (USER, BUILDER):
                location = (code.co_filename, frame.f_lineno)
                return Scan(location, execute, op, op_frame, template)
            if role == HANDLER:
                return Scan(awaiting_site(frame), execute, op, op_frame, template)
            if role == EXECUTE:
                if execute is None:
                    execute = frame
            elif op is None or (op == "save" and role == "create"):
                op, op_frame = role, frame
        frame = frame.f_back
    return Scan(None, execute, op, op_frame, template)


ASGIREF_LOCAL = SyncToAsync.threadlocal
"""asgiref's thread-local; ``main_event_loop`` is set in its ``sync_to_async`` threads."""


def maybe_awaited() -> bool:
    """Whether this thread may be running a ``sync_to_async`` call for a running loop.

    Then the first user frame above a query may belong to the synchronous code that
    started the loop (``async_to_sync``), and only :func:`scan` finds the coroutine that
    awaits the call. Cheap: one thread-local read.
    """
    loop = ASGIREF_LOCAL.__dict__.get("main_event_loop")  # getattr() would raise and catch
    return loop is not None and bool(loop.is_running())


_TEMPLATE_NODE = code_of(Node.render_annotated)


def template_site(frame: FrameType | None) -> Location | None:
    """The template line being rendered when the query at ``frame`` ran, if any.

    The innermost Django template node between the query and the first user frame (the
    view that rendered the template): its file and ``{{ ... }}`` / ``{% ... %}`` line.
    Templates given as strings have no file and give ``None``.
    """
    roles = _ROLES
    while frame is not None:
        code = frame.f_code
        if code is _TEMPLATE_NODE:
            return _node_site(frame)
        role = roles.get(code)
        if role is None:
            role = _learn(code)
        if role in (USER, BUILDER, HANDLER):
            return None
        frame = frame.f_back
    return None


def _node_site(frame: FrameType) -> Location | None:
    """The template file and line of the node a ``Node.render_annotated`` frame renders."""
    node = frame.f_locals.get("self")
    name = getattr(getattr(node, "origin", None), "name", None)
    token = getattr(node, "token", None)
    if isinstance(name, str) and not name.startswith("<") and token is not None:
        return name, int(token.lineno)
    return None


def construction(frame: FrameType | None) -> Location | None:
    """The first user frame at or above ``frame`` that is not a manager's ``get_queryset``.

    Custom managers override ``get_queryset()`` in the user's ``models.py``; the place the
    developer wants to change is the caller that asked the manager for a queryset.
    """
    roles = _ROLES
    while frame is not None:
        code = frame.f_code
        role = roles.get(code)
        if role is None:
            role = _learn(code)
        if role == USER:
            return code.co_filename, frame.f_lineno
        if role == HANDLER:
            return awaiting_site(frame)
        frame = frame.f_back
    return None


def here(frame: FrameType | None) -> Location | None:
    """The user line responsible for what runs at ``frame`` (see :func:`scan`)."""
    return scan(frame).location


def fmt(location: Location | None) -> str | None:
    return callsite.format_site(location)


def awaiting_site(frame: FrameType) -> Location | None:
    """The user coroutine line awaiting the ``sync_to_async`` call ``frame`` (asgiref's
    thread handler) runs."""
    handler = frame.f_locals
    loop = handler.get("loop")
    args = handler.get("args") or ()
    if loop is None or not args:
        return None
    child = args[0]
    try:
        tasks = asyncio.all_tasks(loop)
    except RuntimeError:  # the loop is closing; nothing to attribute the query to
        return None
    for task in tasks:
        found = _walk(task.get_coro(), child)
        if found is not None:
            return found
    return None


def _walk(awaitable: Any, child: Any) -> Location | None:
    best: Location | None = None
    for _ in range(_MAX_DEPTH):
        if awaitable is None:
            return None
        frame = _frame_of(awaitable)
        if frame is None:
            awaitable = _generator_behind(awaitable)
            continue
        code = frame.f_code
        if code is _SYNC_TO_ASYNC_CALL:
            return best if frame.f_locals.get("child") is child else None
        if callsite.is_user_file(code.co_filename):
            best = (code.co_filename, frame.f_lineno)
        awaitable = (
            getattr(awaitable, "cr_await", None)
            or getattr(awaitable, "ag_await", None)
            or getattr(awaitable, "gi_yieldfrom", None)
        )
    return None


def _frame_of(awaitable: Any) -> FrameType | None:
    for attribute in ("cr_frame", "ag_frame", "gi_frame"):
        frame = getattr(awaitable, attribute, None)
        if frame is not None:
            return frame  # type: ignore[no-any-return]  # attributes of coroutine objects
    return None


def _generator_behind(awaitable: Any) -> Any:
    """The async generator an ``async_generator_asend`` object steps (no public link)."""
    if type(awaitable).__name__ not in ("async_generator_asend", "async_generator_athrow"):
        return None
    for referent in gc.get_referents(awaitable):
        if isinstance(referent, types.AsyncGeneratorType):
            return referent
    return None
