"""System check ``dbtune.E006``: ``NPLUSONE.ALLOW`` patterns that match no relation.

Each pattern is ``app_label.Model.field`` (fnmatch wildcards allowed, case-insensitive);
``field`` may be a forward field, a reverse accessor (``book_set``, ``books``) or one of the
call names findings use (``get()``, ``count()``, ``save()``...). The hint suggests the
closest real name, so ``testapp.Book.autor`` says ``Did you mean "testapp.Book.author"?``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from django.core.checks import CheckMessage, Error

CALL_NAMES = (
    "get()",
    "count()",
    "exists()",
    "aggregate()",
    "filter()",
    "save()",
    "create()",
    "update()",
    "delete()",
    "raw SQL",
)
_WILDCARDS = frozenset("*?[")


def relation_names() -> dict[str, list[str]]:
    """``{"app_label.Model": [field and accessor names]}`` for every installed model."""
    from django.apps import apps

    names: dict[str, list[str]] = {}
    for model in apps.get_models():
        fields: list[str] = []
        for field in model._meta.get_fields(include_hidden=False):
            accessor = getattr(field, "get_accessor_name", None)
            if field.auto_created and not field.concrete and accessor is not None:
                fields.append(str(accessor()))
            else:
                fields.append(str(field.name))
        names[model._meta.label] = [*fields, *CALL_NAMES]
    return names


def _wild(text: str) -> bool:
    return any(char in _WILDCARDS for char in text)


def _suggest(word: str, choices: list[str]) -> str | None:
    lowered = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def problems(pattern: object, names: dict[str, list[str]]) -> str | None:
    """A hint for a pattern that cannot match anything (``None`` when it is fine)."""
    usage = 'Use app_label.Model.field, e.g. "testapp.Book.author".'
    if not isinstance(pattern, str) or not pattern.strip():
        return usage
    text = pattern.strip()
    parts = text.split(".")
    if len(parts) > 3:
        return usage
    if any(char in _WILDCARDS for char in text):
        relations = [f"{model}.{name}" for model, fields in names.items() for name in fields]
        return None if matches_any(relations, text) else "The pattern matches no relation."
    apps = sorted({label.split(".")[0] for label in names})
    if len(parts) == 1:
        return None if text in apps else _hint(text, apps)
    models = {label.lower(): label for label in names}
    model = models.get(f"{parts[0]}.{parts[1]}".lower())
    if model is None:
        return _hint(f"{parts[0]}.{parts[1]}", list(names))
    if len(parts) == 2 or parts[2].lower() in {name.lower() for name in names[model]}:
        return None
    return _hint(parts[2], names[model], prefix=f"{model}.")


def matches_any(relations: list[str], pattern: str) -> bool:
    from dbtune.nplusone.suppress import matches

    return any(matches(relation, (pattern,)) for relation in relations)


def _hint(word: str, choices: list[str], prefix: str = "") -> str:
    close = _suggest(word, choices)
    if close is not None:
        return f'Did you mean "{prefix}{close}"?'
    return f"Known names: {', '.join(sorted(choices)[:20])}."


def check_allow_patterns(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``dbtune.E006`` for every ``NPLUSONE.ALLOW`` pattern that matches no relation."""
    return list(_errors())


def _errors() -> Iterator[CheckMessage]:
    from dbtune import conf

    user = conf.raw()
    section = user.get("NPLUSONE") if isinstance(user, dict) else None
    patterns = section.get("ALLOW") if isinstance(section, dict) else None
    if not isinstance(patterns, list | tuple):
        return
    names = relation_names()
    for pattern in patterns:
        hint = problems(pattern, names)
        if hint is not None:
            yield Error(
                f"DBTUNE['NPLUSONE']['ALLOW'] pattern {pattern!r} matches no model relation.",
                hint=hint,
                id="dbtune.E006",
            )
