"""URLs of ``shipping``."""

from __future__ import annotations

from django.urls import path

from shipping import views

urlpatterns = [
    path("shipping/board/", views.board, name="shipping-board"),
    path("shipping/track/", views.track, name="shipping-track"),
]
