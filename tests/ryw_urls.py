"""URLconf for the read-your-writes carrier tests: write an author, then read two tables.

Used with ``override_settings(ROOT_URLCONF="tests.ryw_urls")``. Where each read ran is
taken from ``request.dbtune.queries`` by the tests, so the views only do the work.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from tests.testapp.models import Author, Tag


def write(request: HttpRequest) -> JsonResponse:
    Author.objects.create(name=request.POST["name"])
    return JsonResponse({"written": True})


def read(request: HttpRequest, name: str) -> JsonResponse:
    found = Author.objects.filter(name=name).exists()
    return JsonResponse({"found": found, "tags": Tag.objects.count()})


async def write_async(request: HttpRequest) -> JsonResponse:
    await Author.objects.acreate(name=request.POST["name"])
    return JsonResponse({"written": True})


async def read_async(request: HttpRequest, name: str) -> JsonResponse:
    found = await Author.objects.filter(name=name).aexists()
    return JsonResponse({"found": found, "tags": await Tag.objects.acount()})


urlpatterns = [
    path("write/", write),
    path("read/<str:name>/", read),
    path("async/write/", write_async),
    path("async/read/<str:name>/", read_async),
]
