"""Query capture: every alias, other threads, late connections, nesting, clean-up, listeners."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import django.db.models.query
import pytest
from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection, connections, transaction
from django.db.utils import OperationalError
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils.connection import ConnectionDoesNotExist

import dbtune
from dbtune import callsite
from dbtune.capture import (
    QueryEvent,
    capture_queries,
    hub,
    subscribe,
    track_connections,
    unsubscribe,
    wrapper,
)
from tests.testapp.models import Author, Book, Tag

BOTH = ["default", "other"]
HERE = os.path.relpath(__file__)


def _line() -> int:
    """The line number of the caller's next line."""
    return sys._getframe(1).f_lineno + 1


def _wrapper_counts() -> dict[str, int]:
    return {alias: len(connections[alias].execute_wrappers) for alias in BOTH}


def _in_thread(work: Callable[[], Any]) -> Any:
    """Run ``work`` in a new thread (closing its connections), return its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:  # re-raised in the calling thread
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=30)
    if "error" in box:
        raise box["error"]
    return box.get("result")


@pytest.fixture
def author() -> Author:
    return Author.objects.create(name="Ursula")


def test_public_names_resolve_to_capture_module() -> None:
    assert dbtune.capture_queries is capture_queries
    assert dbtune.QueryEvent is QueryEvent


@pytest.mark.django_db(databases=BOTH)
def test_captures_every_alias() -> None:
    with capture_queries() as queries:
        Author.objects.count()
        Author.objects.using("other").count()
    assert [q.alias for q in queries] == ["default", "other"]
    assert all(q.vendor == "sqlite" and q.duration > 0 for q in queries)


@pytest.mark.django_db(databases=BOTH)
def test_aliases_and_using_limit_the_capture() -> None:
    with capture_queries(aliases=["other"]) as only_other, capture_queries(using="default") as only:
        Author.objects.count()
        Author.objects.using("other").count()
    assert [q.alias for q in only_other] == ["other"]
    assert [q.alias for q in only] == ["default"]


def test_unknown_alias_is_an_error() -> None:
    with pytest.raises(ConnectionDoesNotExist), capture_queries(aliases=["nope"]):
        pass
    with pytest.raises(TypeError):
        capture_queries(aliases=["default"], using="default")


@pytest.mark.django_db(databases=BOTH)
@override_settings(DBTUNE={"CAPTURE": {"ALIASES": ["other"]}})
def test_aliases_default_to_the_setting() -> None:
    with capture_queries() as queries:
        Author.objects.count()
        Author.objects.using("other").count()
    assert [q.alias for q in queries] == ["other"]


@pytest.mark.django_db
def test_executemany_is_one_event() -> None:
    rows = [("a",), ("b",), ("c",)]
    with capture_queries(keep_params=True) as queries, connection.cursor() as cursor:
        cursor.executemany('INSERT INTO "testapp_tag" ("name") VALUES (%s)', iter(rows))
    assert Tag.objects.count() == 3, "a parameter iterator must still reach the driver whole"
    (event,) = queries
    assert event.many is True
    assert event.kind == "insert"
    assert list(event.params) == rows


@pytest.mark.django_db(databases=BOTH, transaction=True)
def test_queries_from_another_thread_are_captured() -> None:
    main_thread = threading.get_ident()
    with capture_queries() as queries:
        _in_thread(lambda: (Author.objects.count(), Author.objects.using("other").count()))
    assert [q.alias for q in queries] == ["default", "other"]
    assert all(q.thread_id != main_thread for q in queries)


@pytest.mark.django_db(databases=BOTH, transaction=True)
def test_thread_connection_opened_before_the_capture() -> None:
    track_connections()  # as AppConfig.ready may do; captures call it too
    opened, go, done = threading.Event(), threading.Event(), threading.Event()

    def worker() -> None:
        try:
            Author.objects.count()  # this thread's connection opens before the capture
            opened.set()
            go.wait(10)
            Author.objects.filter(name="late").count()
        finally:
            done.set()
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    assert opened.wait(10)
    with capture_queries() as queries:
        go.set()
        assert done.wait(10)
    thread.join(10)
    assert [q.alias for q in queries] == ["default"]
    assert queries[0].thread_id == thread.ident


@pytest.mark.django_db
def test_connection_opened_after_entering() -> None:
    with capture_queries() as queries:
        late = connections["default"].copy()
        with late.cursor() as cursor:
            cursor.execute("SELECT 1")
    assert [(q.alias, q.sql) for q in queries] == [("default", "SELECT 1")]
    assert late.execute_wrappers == []


@pytest.mark.django_db(databases=BOTH)
def test_nested_captures_both_receive() -> None:
    with capture_queries() as outer:
        Author.objects.count()
        with capture_queries() as inner:
            Author.objects.using("other").count()
            assert _wrapper_counts() == {"default": 1, "other": 1}, "one wrapper per connection"
        Author.objects.filter(name="after").count()
    assert [q.alias for q in inner] == ["other"]
    assert [q.alias for q in outer] == ["default", "other", "default"]


@pytest.mark.django_db(databases=BOTH)
def test_wrappers_removed_on_exit_even_after_an_exception() -> None:
    before = _wrapper_counts()
    with capture_queries():
        assert _wrapper_counts() == {alias: count + 1 for alias, count in before.items()}
    assert _wrapper_counts() == before
    with pytest.raises(ZeroDivisionError), capture_queries():
        _ = Author.objects.count() / 0
    assert _wrapper_counts() == before


@pytest.mark.django_db
def test_user_execute_wrappers_stay_balanced() -> None:
    seen: list[str] = []

    def mine(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(mine):
        with capture_queries() as queries:
            Author.objects.count()
        with capture_queries(), connection.execute_wrapper(mine):
            Author.objects.count()
        assert connection.execute_wrappers == [mine]
    assert connection.execute_wrappers == []
    assert len(seen) == 3, "the second query passed through both of the user's wrappers"
    assert len(queries) == 1


@pytest.mark.django_db
def test_params_not_kept_by_default(author: Author) -> None:
    with capture_queries() as queries:
        Author.objects.get(pk=author.pk)
    assert queries[0].params is None
    with capture_queries(keep_params=True) as queries:
        Author.objects.get(pk=author.pk)
    assert tuple(queries[0].params) == (author.pk,)


@pytest.mark.django_db
@override_settings(DBTUNE={"CAPTURE": {"KEEP_PARAMS": True}})
def test_keep_params_defaults_to_the_setting(author: Author) -> None:
    with capture_queries() as queries:
        Author.objects.get(pk=author.pk)
    assert tuple(queries[0].params) == (author.pk,)


@pytest.mark.django_db
def test_listeners_only_get_params_they_asked_for(author: Author) -> None:
    with capture_queries(keep_params=True) as keeping, capture_queries() as plain:
        Author.objects.get(pk=author.pk)
    assert keeping[0].params is not None
    assert plain[0].params is None


@pytest.mark.django_db
def test_params_digest_tells_parameter_sets_apart_without_values(author: Author) -> None:
    """What a detector needs to tell repeated parameters apart, without keeping them."""
    seen: list[QueryEvent] = []
    with subscribe(seen.append, params_digest=True), capture_queries() as plain:
        Author.objects.get(pk=author.pk)
        Author.objects.get(pk=author.pk)
        Author.objects.filter(pk=author.pk + 1).first()
        with connection.cursor() as cursor:
            cursor.executemany('INSERT INTO "testapp_tag" ("name") VALUES (%s)', iter([("a",)]))
    first, again, other, many = seen
    assert all(event.params is None for event in seen)
    assert first.params_digest == again.params_digest != other.params_digest
    assert many.params_digest == 0
    assert [event.params_digest for event in plain] == [event.params_digest for event in seen]
    with capture_queries() as alone:
        Author.objects.get(pk=author.pk)
    assert alone[0].params_digest is None


@pytest.mark.parametrize(
    ("params", "same"),
    [
        (None, None),
        ((1, "a"), [1, "a"]),
        ({"b": 2, "a": 1}, {"a": 1, "b": 2}),
        (([1, 2],), ([1, 2],)),
    ],
    ids=["none", "tuple-list", "dict", "unhashable"],
)
def test_params_digest_of_every_shape(params: Any, same: Any) -> None:
    from dbtune.capture.events import params_digest

    assert params_digest(params) == params_digest(same)
    assert params_digest(params) != params_digest((3,)) or params is None


@pytest.mark.django_db
def test_on_error_keeps_listener_errors_from_the_query() -> None:
    errors: list[Exception] = []

    def broken(event: QueryEvent) -> None:
        raise RuntimeError("listener bug")

    with subscribe(broken, on_error=errors.append):
        assert Author.objects.count() == 0
    assert [str(error) for error in errors] == ["listener bug"]

    def failing_handler(exc: Exception) -> None:
        raise ValueError("handler bug")

    with subscribe(broken, on_error=failing_handler), pytest.raises(ValueError, match="handler"):
        Author.objects.count()


@pytest.mark.django_db
def test_callsite_points_at_the_test_line() -> None:
    with capture_queries(stack=True) as queries:
        line = _line()
        Author.objects.filter(name="x").exists()
    assert queries[0].callsite == f"{HERE}:{line}"
    assert queries[0].stack is not None
    assert queries[0].stack[0] == f"{HERE}:{line}"


@pytest.mark.django_db
def test_callsite_of_raw_cursor_and_debug_cursor() -> None:
    with capture_queries() as queries, CaptureQueriesContext(connection) as django_queries:
        with connection.cursor() as cursor:
            raw_line = _line()
            cursor.execute("SELECT 1")
        orm_line = _line()
        Author.objects.exists()
    assert [q.callsite for q in queries] == [f"{HERE}:{raw_line}", f"{HERE}:{orm_line}"]
    assert len(django_queries) == 2, "Django's own debug cursor still records"


@pytest.mark.parametrize(
    ("filename", "user"),
    [
        pytest.param(__file__, True, id="this-test-file"),
        pytest.param("/srv/dbtune_shop/app/views.py", True, id="dbtune-in-path-is-not-dbtune"),
        pytest.param(
            os.path.join(os.getcwd(), "example_project", "shop", "views.py"),
            True,
            id="example-project",
        ),
        pytest.param(hub.__file__, False, id="dbtune-package"),
        pytest.param(django.db.models.query.__file__, False, id="django"),
        pytest.param(threading.__file__, False, id="stdlib"),
        pytest.param(pytest.__file__, False, id="site-packages"),
        pytest.param("/usr/lib/python3/dist-packages/x/y.py", False, id="dist-packages"),
        pytest.param("<frozen importlib._bootstrap>", False, id="frozen"),
    ],
)
def test_user_code_classification(filename: str, user: bool) -> None:
    assert callsite.is_user_file(filename) is user


def test_callsite_paths_relative_under_the_working_directory() -> None:
    assert callsite.display(os.path.abspath(__file__)) == HERE
    assert callsite.display("/elsewhere/app.py") == "/elsewhere/app.py"
    line = _line()
    assert callsite.find() == f"{HERE}:{line}"


@pytest.mark.django_db
def test_stack_is_none_unless_asked() -> None:
    with capture_queries() as queries:
        Author.objects.count()
    assert queries[0].stack is None


@pytest.mark.django_db
def test_orm_statements_tables_kind_and_is_write(author: Author) -> None:
    with capture_queries() as queries:
        list(Book.objects.select_related("author").filter(pages__gt=10))
        book = Book.objects.create(title="Dune", author=author)
        Book.objects.filter(pk=book.pk).update(pages=412)
        book.tags.add(Tag.objects.create(name="sf"))
        Book.objects.filter(pk=book.pk).delete()
    summary = [(q.kind, q.is_write, q.tables) for q in queries if q.kind != "tx"]
    assert summary[0] == ("select", False, ("testapp_book", "testapp_author"))
    assert summary[1] == ("insert", True, ("testapp_book",))
    assert summary[2] == ("update", True, ("testapp_book",))
    assert ("delete", True, ("testapp_book",)) in summary
    assert all(q.fingerprint == dbtune.sql.fingerprint(q.sql, "sqlite") for q in queries)


@pytest.mark.django_db
def test_savepoints_numbered_per_capture() -> None:
    def run() -> list[str]:
        with capture_queries() as queries, transaction.atomic():
            with transaction.atomic():
                Author.objects.count()
            with transaction.atomic():
                Author.objects.count()
        return [q.normalized for q in queries if q.kind == "tx"]

    first = run()
    assert first == [  # the outer atomic() is a savepoint too, inside the test's transaction
        "SAVEPOINT sp1",
        "SAVEPOINT sp2",
        "RELEASE SAVEPOINT sp2",
        "SAVEPOINT sp3",
        "RELEASE SAVEPOINT sp3",
        "RELEASE SAVEPOINT sp1",
    ]
    assert run() == first, "stable across runs although Django's names differ"


@pytest.mark.django_db
def test_failed_query_recorded_and_reraised() -> None:
    with capture_queries() as queries, pytest.raises(OperationalError), connection.cursor() as c:
        c.execute("SELECT * FROM no_such_table")
    (event,) = queries
    assert event.error == "OperationalError"
    assert event.duration >= 0


@pytest.mark.django_db
def test_listener_error_reaches_caller_after_all_listeners() -> None:
    received: list[QueryEvent] = []

    def broken(event: QueryEvent) -> None:
        raise RuntimeError("listener bug")

    with subscribe(broken), subscribe(received.append):
        with pytest.raises(RuntimeError, match="listener bug"):
            Author.objects.count()
        with pytest.raises(OperationalError), connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")  # the query's own error wins
    assert len(received) == 2


@pytest.mark.django_db
def test_queries_run_by_a_listener_are_not_reported() -> None:
    counts: list[int] = []

    def nosy(event: QueryEvent) -> None:
        counts.append(Author.objects.count())

    with capture_queries() as queries, subscribe(nosy):
        Author.objects.filter(name="x").exists()
    assert len(queries) == 1
    assert counts == [0]


@pytest.mark.django_db
def test_unsubscribe_is_idempotent() -> None:
    subscription = subscribe(lambda event: None)
    unsubscribe(subscription)
    unsubscribe(subscription)
    assert wrapper.current is None
    assert connection.execute_wrappers == []


@pytest.mark.django_db(databases=BOTH, transaction=True)
def test_context_scope_ignores_other_threads() -> None:
    with capture_queries(scope="context") as mine, capture_queries() as everything:
        Author.objects.count()
        _in_thread(Author.objects.count)
    assert len(mine) == 1
    assert len(everything) == 2


@pytest.mark.django_db(databases=BOTH, transaction=True)
def test_context_scope_follows_sync_to_async() -> None:
    async def view() -> int:
        return await sync_to_async(Author.objects.count, thread_sensitive=False)()

    with capture_queries(scope="context") as queries:
        asyncio.run(view())
    assert len(queries) == 1


@pytest.mark.django_db
def test_event_serialises() -> None:
    with capture_queries() as queries:
        Author.objects.count()
    data = queries[0].to_dict()
    assert json.loads(json.dumps(data))["kind"] == "select"
    assert "QueryEvent default" in repr(queries[0])
    assert queries.total_duration == queries[0].duration
    assert list(queries.by_fingerprint()) == [queries[0].fingerprint]


@pytest.mark.postgres
@pytest.mark.django_db(databases=["pg"])
def test_postgres_capture(author_on_pg: Author) -> None:
    with capture_queries() as queries:
        line = _line()
        list(Author.objects.using("pg").filter(pk__in=[author_on_pg.pk, 0]))
        list(Author.objects.using("pg").filter(pk__in=[author_on_pg.pk]))
        list(Author.objects.using("pg").filter(pk=author_on_pg.pk))
        with transaction.atomic(using="pg"):
            list(Author.objects.using("pg").select_for_update().filter(pk=author_on_pg.pk))
    selects = [q for q in queries if q.kind == "select"]
    assert all(q.alias == "pg" and q.vendor == "postgresql" for q in queries)
    assert selects[0].callsite == f"{HERE}:{line}"
    assert selects[0].fingerprint == selects[1].fingerprint != selects[2].fingerprint
    assert "IN (...)" in selects[0].normalized
    assert selects[0].normalized.startswith("SELECT testapp_author.id")
    assert selects[0].tables == ("testapp_author",)
    assert [q.is_write for q in selects] == [False, False, False, True]
    assert [q.normalized for q in queries if q.kind == "tx"] == [
        "SAVEPOINT sp1",
        "RELEASE SAVEPOINT sp1",
    ]


@pytest.mark.postgres
@pytest.mark.django_db(databases=["pg"])
def test_postgres_failed_query() -> None:
    with (
        capture_queries() as queries,
        pytest.raises(DatabaseError),
        transaction.atomic(using="pg"),
        connections["pg"].cursor() as cursor,
    ):
        cursor.execute("SELECT * FROM no_such_table")
    failed = [q for q in queries if q.error]
    assert [q.error for q in failed] == ["ProgrammingError"]
    assert failed[0].tables == ("no_such_table",)


@pytest.fixture
def author_on_pg() -> Author:
    return Author.objects.using("pg").create(name="Octavia")
