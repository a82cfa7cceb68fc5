from __future__ import annotations

from django.urls import path

from tests.testapp import views

urlpatterns = [
    path("books/", views.book_list),
    path("books-async/", views.book_list_async),
]
