"""Views used by middleware tests; ``book_list`` has an N+1 over ``author`` on purpose."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from tests.testapp.models import Book


def book_list(request: HttpRequest) -> JsonResponse:
    books = Book.objects.all()  # @qs
    if request.GET.get("fixed"):
        books = books.select_related("author")
    return JsonResponse({"books": [[b.title, b.author.name] for b in books]})  # @access


async def book_list_async(request: HttpRequest) -> JsonResponse:
    rows = [b async for b in Book.objects.select_related("author")]
    return JsonResponse({"books": [[b.title, b.author.name] for b in rows]})
