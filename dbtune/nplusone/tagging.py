"""Tag loaded instances with their origin, and resolve origins into fixable paths.

Every row a ``ModelIterable`` yields while a session is active gets the shared :class:`Tag`
of its batch (one attribute store per row; ``select_related`` rows are walked along the
declared tree only). A batch knows how it was reached: from a root queryset, as a prefetch
level of another batch, or lazily from one parent instance. :func:`resolve` turns that chain
into the root queryset, the relation path from it, whether ``select_related`` can reach the
path, and whether the rows are part of a multi-row load (the only ones that count).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db.models.constants import LOOKUP_SEP

from dbtune.nplusone import sites
from dbtune.nplusone.state import (
    LABELS,
    LOAD,
    MAX_EAGER_BATCHES,
    SITE_KEY,
    SOURCE_KEY,
    TAG_KEY,
    Batch,
    Eager,
    Path,
    Site,
    Source,
    Tag,
    label,
)

if TYPE_CHECKING:
    from dbtune.nplusone.session import Session

_SINGLE_KINDS = frozenset({"fk", "rev_o2o", "gfk"})
_SELECTABLE_KINDS = frozenset({"fk", "rev_o2o"})
_MAX_CHAIN = 32


class Resolved(NamedTuple):
    root: Batch
    path: Path
    needs_prefetch: bool
    multi: bool


def resolve(tag: Tag, depth: int = 0) -> Resolved:
    """The root batch of ``tag``, its path from there, and whether it is a multi-row load."""
    batch = tag.batch
    parent = batch.parent
    if parent is None or depth > _MAX_CHAIN:
        return Resolved(batch, tag.path, False, batch.size >= 2)
    up = resolve(parent, depth + 1)
    path = (*up.path, batch.step, *tag.path)
    if batch.kind == "prefetch":
        return Resolved(up.root, path, True, up.multi or batch.size >= 2)
    if up.multi:
        needs = up.needs_prefetch or batch.step_many or not batch.step_select
        return Resolved(up.root, path, needs, True)
    return Resolved(batch, tag.path, False, batch.size >= 2)


def declared_paths(select: Any, lookups: tuple[Any, ...]) -> dict[Path, str]:
    """Every level of the eager loads a queryset declares, mapped to how it was declared.

    ``select_related()`` without arguments (``True``) cannot be enumerated and is skipped;
    so is the last level of a ``Prefetch(..., to_attr=...)``, read as a plain attribute.
    """
    paths: dict[Path, str] = {}
    if isinstance(select, dict):
        _select_paths(select, (), paths)
    for lookup in lookups:
        through = getattr(lookup, "prefetch_through", lookup)
        if not isinstance(through, str):
            continue
        parts = tuple(through.split(LOOKUP_SEP))
        if getattr(lookup, "to_attr", None):
            parts = parts[:-1]
        for end in range(1, len(parts) + 1):
            paths.setdefault(parts[:end], "prefetch_related")
    return paths


def _select_paths(tree: dict[str, Any], prefix: Path, out: dict[Path, str]) -> None:
    for name, sub in tree.items():
        path = (*prefix, name)
        out[path] = "select_related"
        if isinstance(sub, dict):
            _select_paths(sub, path, out)


def lazy_single_tag(queryset: Any) -> Tag | None:
    """For ``book.author`` loaded lazily from a tagged ``book``: the parent batch's tag at
    path ``("author",)``, as if ``select_related`` had loaded it (that is what the fix will
    say). No batch of its own: it would only ever hold that one row."""
    load = LOAD.get()
    if load is None or load.tag is None or load.kind not in _SELECTABLE_KINDS:
        return None
    query = queryset._query  # the rows exist: Django has applied any deferred filter
    if query.select_related or queryset._prefetch_related_lookups:
        return None
    return load.tag.child(load.field)


def open_batch(queryset: Any, sessions: tuple[Session, ...]) -> Batch:
    """A batch for the queryset a ``ModelIterable`` just executed (called on its first row)."""
    query = queryset._query  # the rows exist: Django has applied any deferred filter
    meta = query.__dict__
    site = meta.get(SITE_KEY)
    location = site.location if type(site) is Site else None
    model = queryset.model
    batch = Batch(LABELS.get(model) or label(model), location, queryset._db)
    load = LOAD.get()
    source = meta.get(SOURCE_KEY)
    if load is not None and load.kind == "prefetch" and load.tag is not None:
        _link(batch, "prefetch", load.tag, load.field, many=True, select=False)
    elif type(source) is Source and source.tag is not None:
        _link(batch, "lazy", source.tag, source.field, many=True, select=False)
    elif load is not None and load.tag is not None and load.kind in _SINGLE_KINDS:
        _link(batch, "lazy", load.tag, load.field, many=False, select=load.kind != "gfk")
    select = query.select_related
    lookups = queryset._prefetch_related_lookups
    deferred = query.deferred_loading
    if deferred[0]:
        batch.deferred = deferred
    if batch.kind == "prefetch" and batch.parent is not None:
        batch.eager_root = batch.parent.eager_root
        batch.eager_prefix = (*batch.parent.eager_path, batch.step)
    if select or lookups:
        batch.alias = queryset.db  # the router's answer; only reports of eager loads need it
        batch.select = select
        batch.lookups = tuple(lookups)
        _declare(batch, declared_paths(select, batch.lookups), sessions)
    return batch


def _declare(batch: Batch, own: dict[Path, str], sessions: tuple[Session, ...]) -> None:
    if not own:
        return
    root = batch.eager_root
    if root is None:
        root = batch.eager = batch.eager_root = Eager(sites.here(sys._getframe(3)))
        batch.eager_prefix = ()
        for session in sessions:
            if len(session.eager_batches) < MAX_EAGER_BATCHES:
                session.eager_batches.append(batch)
    for path, how in own.items():
        root.declared.setdefault((*batch.eager_prefix, *path), how)


def _link(batch: Batch, kind: str, parent: Tag, step: str, *, many: bool, select: bool) -> None:
    batch.kind = kind
    batch.parent = parent
    batch.step = step
    batch.step_many = many
    batch.step_select = select


def walk_selected(tag: Tag, obj: Any, tree: dict[str, Any]) -> None:
    """Tag the ``select_related`` instances cached on ``obj`` (tagged ``tag``) along the
    declared tree."""
    cache = obj._state.__dict__.get("fields_cache")
    if not cache:
        return
    for name, sub in tree.items():
        related = cache.get(name)
        if related is None or not hasattr(related, "_state"):
            continue
        below = tag.child(name)
        related._state.__dict__[TAG_KEY] = below
        if sub:
            walk_selected(below, related, sub)


def touch(tag: Tag, name: str, skip_codes: frozenset[Any], depth: int = 3) -> None:
    """Record that user code read relation ``name`` on an instance tagged ``tag``.

    Only declared paths are recorded. Reads by Django's prefetch machinery (``skip_codes``:
    the code objects of its functions, calling the descriptor hook that calls us) are not
    uses; ``depth`` is how far above this function that caller is.
    """
    root = tag.eager_root
    if root is None:
        return
    path = (*tag.eager_path, name)
    if path in root.used or path not in root.declared:
        return
    if sys._getframe(depth).f_code in skip_codes:
        return
    root.used.add(path)
