"""URLs of ``catalog``."""

from __future__ import annotations

from django.urls import path

from catalog import views

urlpatterns = [
    path("products/", views.product_list, name="product-list"),
    path("products/<str:sku>/", views.product_detail, name="product-detail"),
]
