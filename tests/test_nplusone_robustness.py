"""The detector observes without changing anything: hooks come and go cleanly, caches and
pickles stay Django's own, no recursion through user ``__eq__``, failures stay inside."""

from __future__ import annotations

import copy
import pickle
import threading
from typing import Any

import pytest
from django.db import connection
from django.db.models import query as query_module
from django.db.models.fields import related_descriptors as rd
from django.template import Context, Template

from dbtune import nplusone
from dbtune.nplusone import Detector, Finding, patches, registered_detectors
from dbtune.nplusone.detectors import _DETECTORS
from dbtune.nplusone.session import Session
from tests.testapp.library import Library, build_library, marked_sites
from tests.testapp.models import Author, Book, Review

pytestmark = pytest.mark.django_db


@pytest.fixture
def lib() -> Library:
    return build_library()


def hook_points() -> dict[str, Any]:
    return {
        "iter": query_module.ModelIterable.__dict__["__iter__"],
        "prefetch": query_module.prefetch_one_level,
        "forward": rd.ForwardManyToOneDescriptor.__dict__["__get__"],
        "many": rd.ReverseManyToOneDescriptor.__dict__["__get__"],
        "filter": query_module.QuerySet.__dict__["_filter_or_exclude"],
    }


def test_importing_applies_no_hook() -> None:
    import importlib

    before = hook_points()
    importlib.reload(importlib.import_module("dbtune.nplusone.hooks"))
    assert hook_points() == before
    assert not patches.active()


def test_hooks_exist_only_inside_blocks(lib: Library) -> None:
    before = hook_points()
    manager_class = type(lib.authors[0].books)
    plain_get_queryset = manager_class.__dict__["get_queryset"]
    with nplusone.detect(action="none"):
        assert hook_points()["iter"] is not before["iter"]
        with nplusone.detect(action="none"):
            list(lib.authors[0].books.all())
            assert type(lib.authors[0].books).__dict__["get_queryset"] is not plain_get_queryset
        assert patches.active()
    assert hook_points() == before
    assert manager_class.__dict__["get_queryset"] is plain_get_queryset
    assert not patches.active()


def test_hooks_are_removed_when_the_block_raises(lib: Library) -> None:
    before = hook_points()

    def failing() -> None:
        list(Book.objects.all())
        print(1 / 0)

    with pytest.raises(ZeroDivisionError), nplusone.detect(action="none"):
        failing()
    assert hook_points() == before


def test_release_without_acquire_is_harmless() -> None:
    patches.release()
    assert not patches.active()


def test_a_hook_wrapped_by_someone_else_is_left_alone(lib: Library) -> None:
    descriptor = rd.ForwardManyToOneDescriptor
    with nplusone.detect(action="none"):
        ours = descriptor.__dict__["get_object"]

        def theirs(self: Any, instance: Any) -> Any:
            return ours(self, instance)

        descriptor.get_object = theirs  # type: ignore[method-assign]
    try:
        assert descriptor.__dict__["get_object"] is theirs
        assert [book.author.name for book in Book.objects.all()][0] == "author 0"
    finally:
        descriptor.get_object = ours.__wrapped__  # type: ignore[method-assign]


def test_result_caches_and_prefetch_caches_are_untouched(lib: Library) -> None:
    with nplusone.detect(action="none"):
        books = Book.objects.select_related("author").prefetch_related("tags")
        rows = list(books)
        cache = books._result_cache
        tags = [list(book.tags.all()) for book in rows]
    assert books._result_cache is cache
    assert [list(book.tags.all()) for book in rows] == tags
    assert all("author" in book._state.fields_cache for book in rows)


def test_pickles_and_copies_carry_no_dbtune_state(lib: Library) -> None:
    with nplusone.detect(action="none"):
        book = Book.objects.select_related("author").get(title="book 00")
        queryset = Author.objects.get(name="author 0").books.filter(pages__gt=1)
        queryset.query.__dict__  # noqa: B018  (the related manager marked this query)
    restored = pickle.loads(pickle.dumps(book))
    assert restored == book
    assert restored.author.name == book.author.name
    assert not [v for v in vars(restored._state).values() if "dbtune" in type(v).__module__]
    assert copy.deepcopy(book).title == book.title
    clone = pickle.loads(pickle.dumps(queryset.query))
    assert all(value is None for key, value in vars(clone).items() if key.startswith("_dbtune"))
    assert list(Book.objects.all().filter(pk__in=[b.pk for b in queryset])) != []


def test_no_recursion_through_user_eq_and_hash(lib: Library) -> None:
    with nplusone.detect(action="none") as report:
        reviews = list(Review.objects.all())
        assert len(set(reviews)) == 6
        assert reviews[0] != reviews[1]
    assert [f.relation for f in report.findings] == ["testapp.Review.book"]
    assert report.findings[0].access_site.startswith("tests/testapp/models.py:")


def test_template_access_is_reported_at_the_render_line(lib: Library) -> None:
    template = Template("{% for b in books %}{{ b.author.name }}{% endfor %}")

    def render() -> str:
        books = Book.objects.all()  # @qs
        return template.render(Context({"books": books}))  # @access

    with nplusone.detect(action="none") as report:
        assert "author 0" in render()
    (finding,) = report.findings
    assert finding.access_site == marked_sites(render)["access"]
    assert finding.queryset_site == marked_sites(render)["qs"]


def test_file_template_access_is_reported_at_the_template_line(lib: Library) -> None:
    from django.template.loader import render_to_string

    def render() -> str:
        books = Book.objects.all()  # @qs
        return render_to_string("testapp/books.html", {"books": books})  # @render

    with nplusone.detect(action="none") as report:
        assert "author 0" in render()
    (finding,) = report.findings
    assert finding.access_site == "tests/testapp/templates/testapp/books.html:3"
    assert finding.rendered_at == marked_sites(render)["render"]
    assert finding.queryset_site == marked_sites(render)["qs"]
    message = finding.message()
    assert "books.html:3:  <li>{{ book.title }} by {{ book.author.name }}</li>" in message
    assert f"rendered at {finding.rendered_at}" in message


def test_lazy_loads_without_user_code_are_still_reported(
    lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbtune import callsite
    from dbtune.nplusone import sites

    books = list(Book.objects.all())
    monkeypatch.setitem(callsite._user_files, __file__, False)  # as if this were a library
    monkeypatch.setattr(sites, "_ROLES", dict(sites._ROLES))
    for code in [c for c in sites._ROLES if c.co_filename == __file__]:
        del sites._ROLES[code]
    with nplusone.detect(action="none") as report:
        for book in books:
            assert book.author.name
    (finding,) = report.findings
    assert (finding.relation, finding.access_site) == ("testapp.Book.author", None)
    assert "at <unknown>" in finding.message()


def test_instances_loaded_before_the_block(lib: Library) -> None:
    books = list(Book.objects.all())
    with nplusone.detect(action="none") as report:
        for book in books:
            assert book.author.name
    assert [(f.relation, f.fix, f.queryset_site) for f in report.findings] == [
        ("testapp.Book.author", 'select_related("author")', None)
    ]


def test_memory_stays_flat_with_many_origins(lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    from dbtune.nplusone import session, tagging

    monkeypatch.setattr(session, "MAX_ORIGINS", 1)
    monkeypatch.setattr(tagging, "MAX_EAGER_BATCHES", 1)
    with nplusone.detect(action="none") as report:
        for author in Author.objects.all():
            for book in author.books.all():
                str(book.publisher)
        for _ in range(2):
            list(Book.objects.select_related("author"))
    assert ("testapp.Book.publisher", 'prefetch_related("books__publisher")') in {
        (f.relation, f.fix) for f in report.findings
    }
    assert len(report.by_kind("unused_eager")) == 1


def test_blocks_in_two_threads_stay_apart() -> None:
    from django.db import connection, connections

    results: dict[str, list[tuple[str, int]]] = {}
    barrier = threading.Barrier(2)

    def work(name: str, repeat: int) -> None:
        try:
            with nplusone.detect(action="none") as report:
                barrier.wait(timeout=10)
                with connection.cursor() as cursor:
                    for value in range(repeat):
                        cursor.execute("SELECT %s", [value])
                barrier.wait(timeout=10)
            results[name] = [(f.kind, f.count) for f in report.findings]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=args) for args in (("a", 3), ("b", 0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"a": [("n+1", 3)], "b": []}
    assert not patches.active()


def test_a_failing_detector_never_breaks_the_block(
    lib: Library, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Detector):
        name = "broken"

        def detect(self, session: Session, threshold: int) -> list[Finding]:
            raise RuntimeError("bug")

    nplusone.register_detector(Broken)
    try:
        with nplusone.detect(action="raise") as report:
            for book in Book.objects.all():
                assert book.author.name
    finally:
        _DETECTORS.remove(Broken)
    assert report.findings == []
    assert "detectors failed" in caplog.text


def test_a_failing_listener_never_breaks_a_query(
    lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Session, event: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(Session, "_record", broken)
    with nplusone.detect(action="none") as report:
        assert Book.objects.count() == 6
    assert report.findings == []


def test_third_party_detectors_are_registered_like_built_ins(lib: Library) -> None:
    class QueryCounter(Detector):
        name = "counter"

        def detect(self, session: Session, threshold: int) -> list[Finding]:
            group = next(iter(session.groups.values()))
            return [Finding("n+1", "x.Y", "z", session.queries, group.alias, group.site, None, "-")]

    assert nplusone.register_detector(QueryCounter) is QueryCounter
    try:
        assert QueryCounter in registered_detectors()
        with nplusone.detect(action="none") as report:
            Book.objects.count()
    finally:
        _DETECTORS.remove(QueryCounter)
    assert [(f.relation, f.count) for f in report.findings] == [("x.Y.z", 1)]


@pytest.mark.parametrize("debug_cursor", [False, True], ids=["cursor", "debug-cursor"])
def test_related_manager_queries_are_found_through_cursor_wrappers(
    lib: Library, debug_cursor: bool
) -> None:
    """The listener finds a related manager's query from the compiler running it, also when
    a cursor wrapper (Django's debug cursor) adds frames in between."""
    connection.force_debug_cursor = debug_cursor
    try:
        with nplusone.detect(action="none") as report:
            for author in Author.objects.all():
                list(author.books.all())
                author.books.filter(pages__gt=0).count()
    finally:
        connection.force_debug_cursor = False
    assert sorted((f.kind, f.relation, f.fix, f.detector) for f in report.findings) == [
        ("count_in_loop", "testapp.Author.books", 'annotate(n=Count("books"))', "orm"),
        ("n+1", "testapp.Author.books", 'prefetch_related("books")', "orm"),
    ]


def test_no_compiler_class_is_hooked(lib: Library) -> None:
    """Patching a compiler class would reset CPython's attribute caches of every compiler
    on each block; related-manager queries are recognised without it."""
    from django.db.models.sql.compiler import SQLCompiler

    plain = SQLCompiler.__dict__["execute_sql"]
    with nplusone.detect(action="none"):
        list(lib.authors[0].books.all())
        assert SQLCompiler.__dict__["execute_sql"] is plain


def test_the_listener_looks_at_the_compiler_frame_itself(
    lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cursor's caller is found by a fixed frame distance, measured once: it must land
    on the compiler running the query, not on a frame next to it."""
    from dbtune.nplusone import hooks

    seen: list[str] = []
    original = hooks.compiler_load

    def spy(frame: Any) -> Any:
        seen.append(frame.f_code.co_name)
        return original(frame)

    monkeypatch.setattr(hooks, "compiler_load", spy)
    with nplusone.detect(action="none") as report:
        for author in Author.objects.all():
            list(author.books.all())  # known from the rows' iterator, no compiler lookup
            author.books.filter(pages__gt=0).count()
    assert set(seen) == {"execute_sql"}
    assert len(seen) == len(lib.authors)
    assert {(f.field, f.detector) for f in report.findings} == {("books", "orm")}
    assert len(report.findings) == 2


def test_queries_run_while_related_rows_are_built_are_not_that_load(lib: Library) -> None:
    """A ``post_init`` receiver iterating another queryset while a related manager's rows
    are built runs its own query, not one of the relation's loads."""
    from django.db.models.signals import post_init

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        list(Review.objects.all()[:1])

    post_init.connect(receiver, sender=Book)
    try:
        with nplusone.detect(action="none") as report:
            for author in Author.objects.all():
                list(author.books.all())
    finally:
        post_init.disconnect(receiver, sender=Book)
    (books,) = [f for f in report.findings if f.field == "books"]
    assert (books.detector, books.count) == ("orm", len(lib.authors))


def test_a_session_fed_through_on_query_finds_related_manager_queries(lib: Library) -> None:
    """``Session.on_query`` (the guarded listener other capture set-ups use) and the path
    ``detect()`` takes reach the cursor's caller at different depths; both find it."""
    from dbtune.capture import subscribe
    from dbtune.nplusone.state import SESSIONS

    with nplusone.detect(action="none"):  # measures the depth of detect()'s own path
        Author.objects.first()
    session = Session()
    patches.acquire()
    token = SESSIONS.set((session,))
    try:
        with subscribe(session.on_query, scope="context", params_digest=True):
            for author in Author.objects.all():
                author.books.filter(pages__gt=0).count()
    finally:
        SESSIONS.reset(token)
        patches.release()
    (group,) = session.loads.values()
    assert (group.first.field, group.count, session.internal_errors) == (
        "books",
        len(lib.authors),
        0,
    )
