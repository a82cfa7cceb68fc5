"""App config of ``shop``: holds the ``seed`` command, no models."""

from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
