"""URLs of ``accounts``."""

from __future__ import annotations

from django.urls import path

from accounts import views

urlpatterns = [
    path("customers/dashboard/", views.dashboard, name="customer-dashboard"),
    path("customers/lookup/", views.lookup, name="customer-lookup"),
]
