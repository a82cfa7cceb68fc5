"""Shared view helpers and the shop's index page."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from shop.pages import PAGES

PAGE_SIZE = 50
"""Lists stop here, so that every page stays fast at any seed scale."""

TRUTHY = {"1", "true", "yes", "on"}


def wants_fix(request: HttpRequest) -> bool:
    """Whether the request asked for the tuned variant of a page (``?fixed=1``).

    Each page keeps both variants side by side, so tools can show the cost of the naive
    code and the effect of the fix on the same data.
    """
    return request.GET.get("fixed", "").lower() in TRUTHY


def index(request: HttpRequest) -> JsonResponse:
    """List the pages, so a quick ``runserver`` look starts somewhere useful."""
    return JsonResponse({"pages": [{"name": name, "url": url} for name, url in PAGES]})
