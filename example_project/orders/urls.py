"""URLs of ``orders``."""

from __future__ import annotations

from django.urls import path

from orders import views

urlpatterns = [
    path("orders/", views.order_list, name="order-list"),
    path("orders/audit/", views.order_audit, name="order-audit"),
    path("orders/<int:order_id>/", views.order_detail, name="order-detail"),
]
