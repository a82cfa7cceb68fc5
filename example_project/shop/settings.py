"""Settings of the example shop.

Environment switches (all optional):

``DATABASE_URL`` / ``DBTUNE_DSN``
    PostgreSQL DSN; without one the shop uses SQLite at ``SHOP_SQLITE_PATH`` (default
    ``example_project/db.sqlite3``).
``DBTUNE_REPLICA_DSNS``
    comma-separated DSNs of read replicas, exposed as ``replica1``, ``replica2``, ...
``DJANGO_DEBUG``
    ``0`` turns debug off; on by default because the shop exists to be looked at.
``SHOP_DBTUNE``
    ``0`` runs the shop without dbtune, for baselines that must not pay its overhead.
"""

from __future__ import annotations

import os
from pathlib import Path

from shop.databases import databases_from_env

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dbtune-example-shop-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1").lower() not in {"0", "false", "no", "off"}
ALLOWED_HOSTS = ["*"]
WITH_DBTUNE = os.environ.get("SHOP_DBTUNE", "1").lower() not in {"0", "false", "no", "off"}

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "shop",
    "accounts",
    "catalog",
    "orders",
    "shipping",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
if WITH_DBTUNE:
    INSTALLED_APPS.insert(1, "dbtune")
    MIDDLEWARE.append("dbtune.middleware.DBTuneMiddleware")

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
ASGI_APPLICATION = "shop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = databases_from_env(os.environ, BASE_DIR / "db.sqlite3")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

DBTUNE = {"NPLUSONE": {"THRESHOLD": 2, "ACTION": "warn"}}
