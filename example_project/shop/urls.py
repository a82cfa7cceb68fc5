"""URL map of the shop. Every page answers ``?fixed=1`` with the same data, fewer queries."""

from __future__ import annotations

from django.urls import include, path

from shop import views

urlpatterns = [
    path("", views.index, name="index"),
    path("", include("accounts.urls")),
    path("", include("catalog.urls")),
    path("", include("orders.urls")),
    path("", include("shipping.urls")),
]
