"""``detect()``, ``allow()`` and ``run()``: the public entry points.

``detect()`` is a context manager and a decorator (sync and async functions), usable in
views, Celery tasks and scripts. Entering it applies the ORM hooks (reference-counted) and
subscribes a capture listener scoped to the current context; leaving it removes both,
builds the report, then signals, logs, warns or raises as ``action`` says. It never raises
inside the block.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterable
from contextvars import Token
from types import TracebackType
from typing import Any, TypeVar

from dbtune.nplusone import actions, detectors, eager, patches, suppress
from dbtune.nplusone.findings import Report
from dbtune.nplusone.session import Session
from dbtune.nplusone.state import ALLOW, SESSIONS

F = TypeVar("F", bound=Callable[..., Any])


def _decorate(make: Callable[[], contextlib.AbstractContextManager[Any]], func: F) -> F:
    if inspect.iscoroutinefunction(func):

        async def run_async(*args: Any, **kwargs: Any) -> Any:
            with make():
                return await func(*args, **kwargs)

        return functools.wraps(func)(run_async)  # type: ignore[return-value]  # same signature

    def run_sync(*args: Any, **kwargs: Any) -> Any:
        with make():
            return func(*args, **kwargs)

    return functools.wraps(func)(run_sync)  # type: ignore[return-value]  # same signature


class detect:  # noqa: N801  (used like a function: ``with detect() as report``)
    """Detect N+1 queries and friends in a block: ``with detect() as report: ...``.

    ``threshold``: loads per relation and access site that make a finding (default: the
    ``NPLUSONE.THRESHOLD`` setting, 2). ``action``: ``log`` (default), ``warn``, ``raise``
    or ``none``; the settings' ``ACTION`` is used by the middleware and pytest plugin, not
    here, so a block never changes behaviour because of settings. ``allow`` adds
    ``app.Model.field`` patterns to the ``ALLOW`` setting; ``ignore_paths`` replaces
    ``IGNORE_PATHS``; ``aliases`` limits the database aliases watched (default: all).
    ``report.findings`` is filled when the block exits.
    """

    def __init__(
        self,
        threshold: int | None = None,
        *,
        action: str = "log",
        allow: Iterable[str] = (),
        ignore_paths: Iterable[str] | None = None,
        aliases: Iterable[str] | None = None,
    ) -> None:
        if action not in actions.ACTIONS:
            raise ValueError(f"action must be one of {', '.join(actions.ACTIONS)}")
        if threshold is not None and threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold = threshold
        self.action = action
        self.allow = tuple(allow)
        self.ignore_paths = None if ignore_paths is None else tuple(ignore_paths)
        self.aliases = None if aliases is None else tuple(aliases)
        self.report: Report | None = None
        self._session: Session | None = None
        self._subscription: Any = None
        self._token: Token[tuple[Session, ...]] | None = None

    def _copy(self) -> detect:
        return detect(
            self.threshold,
            action=self.action,
            allow=self.allow,
            ignore_paths=self.ignore_paths,
            aliases=self.aliases,
        )

    def __call__(self, func: F) -> F:
        return _decorate(self._copy, func)

    def __enter__(self) -> Report:
        from dbtune.capture import subscribe

        if self._session is not None:
            raise RuntimeError("this detect() block is already active")
        session = Session()
        patches.acquire()
        try:
            self._subscription = subscribe(
                session._record,
                aliases=self.aliases,
                params_digest=True,
                scope="context",
                on_error=session.on_error,
            )
        except BaseException:
            patches.release()
            raise
        self._session = session
        self._token = SESSIONS.set((*SESSIONS.get(), session))
        self.report = Report(live=self._snapshot)
        return self.report

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        from dbtune.capture import unsubscribe

        session, report = self._session, self.report
        if session is None or report is None:
            return
        self._session = None
        self._leave(session)
        unsubscribe(self._subscription)
        patches.release()
        final = self._analyse(session)
        report.finish(final.findings, final.suppressed, final.eager, final.queries)
        action = self.action
        if exc_type is not None and action == "raise":
            action = "log"
        actions.act(report, action)

    def _snapshot(self) -> Report:
        session = self._session
        return Report() if session is None else self._analyse(session)

    def _analyse(self, session: Session) -> Report:
        """Run the detectors and apply suppression; a detector failure is logged, not
        raised (the application's code must never break because of dbtune)."""
        from dbtune import conf

        settings = conf.nplusone()
        threshold = self.threshold or settings.threshold
        try:
            found = detectors.run_all(session, threshold)
            uses = eager.eager_uses(session)
        except Exception:  # a detector bug is reported, never raised into user code
            actions.logger.exception("dbtune N+1 detectors failed")
            found, uses = [], []
        ignore_paths = settings.ignore_paths if self.ignore_paths is None else self.ignore_paths
        kept, quiet = suppress.split(found, (*settings.allow, *self.allow), ignore_paths)
        result = Report()
        result.finish(kept, quiet, uses, session.queries)
        return result

    def _leave(self, session: Session) -> None:
        token, self._token = self._token, None
        try:
            if token is not None:
                SESSIONS.reset(token)
                return
        except ValueError:  # exited in another context than entered: drop just this one
            pass
        SESSIONS.set(tuple(s for s in SESSIONS.get() if s is not session))


class allow:  # noqa: N801  (used like a function: ``with allow("app.Model.field")``)
    """Do not report matching findings for queries run inside the block (or function).

    ``allow()`` without patterns allows everything; patterns are ``app.Model.field``
    with fnmatch wildcards, as in the ``ALLOW`` setting. Blocks nest.
    """

    def __init__(self, *patterns: str) -> None:
        self.patterns = patterns or ("*",)
        self._tokens: list[Token[tuple[str, ...]]] = []

    def __enter__(self) -> None:
        self._tokens.append(ALLOW.set((*ALLOW.get(), *self.patterns)))

    def __exit__(self, *exc_info: object) -> None:
        token = self._tokens.pop()
        try:
            ALLOW.reset(token)
        except ValueError:  # exited in another context than entered
            ALLOW.set(tuple(p for p in ALLOW.get() if p not in self.patterns))

    def __call__(self, func: F) -> F:
        return _decorate(lambda: allow(*self.patterns), func)


def run(func: Callable[[], Any], *, threshold: int | None = None, action: str = "none") -> Report:
    """Call ``func()`` under :class:`detect` and return the report (for demos and scripts)."""
    with detect(threshold, action=action) as report:
        func()
    return report
