"""``DBTuneMiddleware``: capture the queries of every request (sync and async).

Per request it sets ``request.dbtune`` to a :class:`RequestReport`, logs a one-line
summary on the ``dbtune.request`` logger, and in ``DEBUG`` adds the response header
``X-DBTune-Queries``. Detectors plug in as :class:`RequestHook` subclasses registered with
:func:`register_hook`, exactly as a third party would register one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from dbtune import conf

logger = logging.getLogger("dbtune.request")

GetResponse = Callable[[HttpRequest], Any]


@dataclass
class RequestReport:
    """What dbtune saw during one request; hooks append their findings."""

    path: str
    queries: list[Any] = field(default_factory=list)
    findings: list[Any] = field(default_factory=list)
    response: HttpResponseBase | None = None
    """Set once the view has returned, before the hooks exit; ``None`` if it raised."""

    @property
    def duration(self) -> float:
        return float(sum(q.duration for q in self.queries))


class RequestHook:
    """A detector that runs around each request.

    Contract: :meth:`scope` is called once per request, before the view; the returned
    context manager is entered around the view and exited after the response exists (also
    when the view raises), with ``report.response`` set. On exit it may append findings to
    ``report.findings`` and set cookies or headers on ``report.response``. It must not
    print, replace the response or change its content, and should not query the database
    (a hook whose carrier needs it, like a session, says so). On the async path
    :meth:`ascope` is used instead; override it only to do I/O off the event loop.
    """

    def scope(
        self, request: HttpRequest, report: RequestReport
    ) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def ascope(
        self, request: HttpRequest, report: RequestReport
    ) -> contextlib.AbstractAsyncContextManager[Any]:
        """The async path's scope: by default :meth:`scope`, entered on the event loop."""
        return _entered(self.scope(request, report))


@contextlib.asynccontextmanager
async def _entered(scope: contextlib.AbstractContextManager[Any]) -> AsyncIterator[None]:
    with scope:
        yield


_HOOKS: list[type[RequestHook]] = []


def register_hook(hook: type[RequestHook]) -> type[RequestHook]:
    """Register a hook class for every future request; usable as a class decorator."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


def registered_hooks() -> tuple[type[RequestHook], ...]:
    return tuple(_HOOKS)


class DBTuneMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        if not conf.enabled():
            return self.get_response(request)
        report = RequestReport(path=request.path)
        with self._scopes(request, report):
            response = report.response = self.get_response(request)
        self._finish(request, response, report)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        get_response: Callable[[HttpRequest], Awaitable[Any]] = self.get_response
        if not conf.enabled():
            return await get_response(request)
        report = RequestReport(path=request.path)
        async with self._ascopes(request, report):
            response = report.response = await get_response(request)
        self._finish(request, response, report)
        return response

    @contextlib.contextmanager
    def _scopes(self, request: HttpRequest, report: RequestReport) -> Iterator[None]:
        from dbtune.capture import capture_queries

        request.dbtune = report  # type: ignore[attr-defined]  # per-request annotation
        with contextlib.ExitStack() as stack:
            report.queries = stack.enter_context(capture_queries(scope="context"))
            for hook in _HOOKS:
                stack.enter_context(hook().scope(request, report))
            yield

    @contextlib.asynccontextmanager
    async def _ascopes(self, request: HttpRequest, report: RequestReport) -> AsyncIterator[None]:
        from dbtune.capture import capture_queries

        request.dbtune = report  # type: ignore[attr-defined]  # per-request annotation
        async with contextlib.AsyncExitStack() as stack:
            report.queries = stack.enter_context(capture_queries(scope="context"))
            for hook in _HOOKS:
                await stack.enter_async_context(hook().ascope(request, report))
            yield

    def _finish(
        self, request: HttpRequest, response: HttpResponseBase, report: RequestReport
    ) -> None:
        options = conf.middleware()
        count = len(report.queries)
        level = logging.getLevelName(str(options["LOG_LEVEL"]).upper())
        if not isinstance(level, int):
            level = logging.INFO
        logger.log(
            level,
            "%s %s: %d queries in %.1f ms, %d findings",
            request.method,
            request.path,
            count,
            report.duration * 1000,
            len(report.findings),
        )
        if settings.DEBUG and options["HEADER"]:
            response["X-DBTune-Queries"] = str(count)
