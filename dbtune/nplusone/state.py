"""Per-context state shared by the ORM hooks and the detection sessions.

Everything request-scoped lives in :mod:`contextvars`, so concurrent requests (threads or
asyncio tasks) never see each other's sessions, and asgiref's ``sync_to_async`` (which copies
the context into its worker thread) carries them into the ORM's synchronous half.

Instances are tagged with their origin by storing a :class:`Tag` in ``obj._state.__dict__``;
querysets carry their construction site and, for related managers, a :class:`Source` in
``query.__dict__`` (``Query.clone()`` copies that dict, so markers follow every chained
clone for free). These markers never survive pickling or ``copy.copy``: they reduce to
``None``, so cached instances and pickled queries stay exactly what Django would produce.
"""

from __future__ import annotations

from contextvars import ContextVar
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbtune.nplusone.session import Session

Location = tuple[str, int]
Path = tuple[str, ...]

MAX_EAGER_BATCHES = 10_000
"""Batches with declared eager loads one session judges; later ones are not tracked, so a
long block (a Celery task, a script) keeps flat memory."""

TAG_KEY = "_dbtune_origin"
SOURCE_KEY = "_dbtune_source"
SITE_KEY = "_dbtune_site"

MANAGERS: set[type] = set()
"""The related-manager classes hooked so far (filled and emptied by :mod:`.patches` only):
their querysets are marked by the related-manager hook, and while the set is empty no query
can be a related manager's (see :func:`.hooks.compiler_load`)."""

MARKED_TABLES: list[str] = []
"""``db_table`` of every model a related manager's queryset has been marked for (only ever
appended to): a query whose SQL names none of them cannot be a related manager's, so the
listener skips looking for its compiler."""

SESSIONS: ContextVar[tuple[Session, ...]] = ContextVar("dbtune_nplusone_sessions", default=())
LOAD: ContextVar[Load | None] = ContextVar("dbtune_nplusone_load", default=None)
PENDING: ContextVar[tuple[Load, FrameType | None] | None] = ContextVar(
    "dbtune_nplusone_pending", default=None
)
"""Set by the ``ModelIterable`` hook while a related manager's queryset runs its query (the
first step of iterating it): the :class:`Load` that query is, and the frame of Django's
``ModelIterable.__iter__`` running it, so the listener can tell that query by its compiler's
calling frame instead of reading the compiler out of the frame's locals."""
ALLOW: ContextVar[tuple[str, ...]] = ContextVar("dbtune_nplusone_allow", default=())


class _Marker:
    """Base for objects stored on Django's objects: invisible to pickle and copies."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (type(None), ())

    def __copy__(self) -> _Marker:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Marker:
        return self


class Eager(_Marker):
    """The eager loads one root queryset declared, and which of them user code read.

    Paths are tuples from the root (``("books", "tags")``); ``reached`` holds every path
    at which at least one row was loaded, so an empty prefetch is never called unused.
    """

    __slots__ = ("declared", "eval_site", "reached", "used")

    def __init__(self, eval_site: Location | None) -> None:
        self.declared: dict[Path, str] = {}
        self.used: set[Path] = set()
        self.reached: set[Path] = set()
        self.eval_site = eval_site


class Batch(_Marker):
    """The rows one queryset evaluation produced (one query, or one prefetch level).

    ``kind`` is ``root`` (a queryset the user evaluated), ``prefetch`` (a prefetch level of
    ``parent``'s batch) or ``lazy`` (loaded on demand from the ``parent`` instance through the
    relation ``step``). ``eager`` is set on batches that declare eager loads; ``eager_root``
    is the :class:`Eager` state this batch's rows report their reads to. Class attributes
    are the defaults: a batch is created per query, so only what differs is stored.
    """

    kind = "root"
    parent: Tag | None = None
    step = ""
    step_many = False
    step_select = True
    select: Any = None
    lookups: tuple[Any, ...] = ()
    deferred: tuple[frozenset[str], bool] = (frozenset(), True)
    eager: Eager | None = None
    eager_root: Eager | None = None
    eager_prefix: Path = ()

    def __init__(self, model: str, site: Location | None, alias: str | None) -> None:
        self.model = model
        self.site = site
        self.alias = alias
        self.size = 0

    def root_tag(self) -> Tag:
        """A new :class:`Tag` for the rows of this batch (one per batch, shared by them)."""
        root = self.eager_root
        if root is not None:
            root.reached.add(self.eager_prefix)
        return Tag(self, (), root, self.eager_prefix)


class Tag(_Marker):
    """Where an instance came from: its batch and the select_related path inside it.

    References only point up (tag -> batch -> parent tag), never back: a batch holds no
    tags, so loaded rows and their origins are freed by reference counting alone, with no
    work left for the cyclic garbage collector.
    """

    __slots__ = ("batch", "children", "eager_path", "eager_root", "path")

    def __init__(self, batch: Batch, path: Path, eager_root: Eager | None, eager_path: Path):
        self.batch = batch
        self.path = path
        self.eager_root = eager_root
        self.eager_path = eager_path
        self.children: dict[str, Tag] | None = None

    def child(self, name: str) -> Tag:
        """The shared tag of rows reached from this one through relation ``name``, loaded by
        ``select_related`` or lazily one at a time (``book.author``)."""
        children = self.children
        if children is None:
            children = self.children = {}
        tag = children.get(name)
        if tag is None:
            root = self.eager_root
            eager_path = (*self.eager_path, name)
            tag = children[name] = Tag(self.batch, (*self.path, name), root, eager_path)
            if root is not None:
                root.reached.add(eager_path)
        return tag


class Source(_Marker):
    """Marks a related manager's queryset: which instance and relation it loads.

    ``base`` counts the WHERE conditions the manager itself adds (its default filters and
    the relation filter); more at execution time mean the developer refined the queryset.
    """

    __slots__ = ("base", "field", "model", "tag")

    def __init__(self, tag: Tag | None, model: str, field: str, base: int) -> None:
        self.tag = tag
        self.model = model
        self.field = field
        self.base = base


class Site(_Marker):
    """Where a queryset was built (stored on its query; gone from pickles and copies)."""

    __slots__ = ("location",)

    def __init__(self, location: Location | None) -> None:
        self.location = location


class Load:
    """One lazy load in progress; queries run while it is current belong to it.

    ``kind``: ``fk`` (forward FK / one-to-one), ``rev_o2o``, ``many`` (reverse FK,
    many-to-many, generic relation), ``gfk``, ``deferred`` or ``prefetch``. ``counts`` is
    false for eager loads (a prefetch over many rows), which are claimed but never flagged.
    """

    __slots__ = ("counts", "field", "kind", "model", "query", "source", "tag", "variant")

    def __init__(
        self,
        kind: str,
        tag: Tag | None,
        model: str,
        field: str,
        variant: str = "load",
        counts: bool = True,
        source: Source | None = None,
    ) -> None:
        self.kind = kind
        self.tag = tag
        self.model = model
        self.field = field
        self.variant = variant
        self.counts = counts
        self.source = source
        self.query: Any = None


def tag_of(instance: Any) -> Tag | None:
    """The :class:`Tag` of a model instance, or ``None`` if dbtune never saw it loaded."""
    try:
        tag = instance._state.__dict__.get(TAG_KEY)
    except AttributeError:
        return None
    return tag if type(tag) is Tag else None


LABELS: dict[Any, str] = {}
"""Model class -> ``"app_label.Model"``, filled by :func:`label` (hot paths read it first)."""


def label(model: Any) -> str:
    """``"app_label.Model"``, cached (``Options.label`` formats a string on every read)."""
    found = LABELS.get(model)
    if found is None:
        found = LABELS[model] = str(model._meta.label)
    return found


def load_of(kind: str, instance: Any, field: str, variant: str = "load") -> Load:
    """``Load(kind, tag_of(instance), label(type(instance)), field, variant)``, built in
    one call: descriptor hooks make one per lazy access, so this is on the hot path."""
    load = _new(Load)
    try:
        tag = instance._state.__dict__.get(TAG_KEY)
    except AttributeError:
        tag = None
    model = type(instance)
    load.kind = kind
    load.tag = tag if type(tag) is Tag else None
    load.model = LABELS.get(model) or label(model)
    load.field = field
    load.variant = variant
    load.counts = True
    load.source = None
    load.query = None
    return load


_new = object.__new__
