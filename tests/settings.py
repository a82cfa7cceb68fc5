"""Settings for dbtune's own test suite.

Two SQLite aliases (``default``, ``other``) serve the pure-logic tier. The PostgreSQL tier's
alias ``pg`` is added by ``tests/conftest.py`` once the lab is up (or from
``DBTUNE_TEST_DSN`` when a server is given), because the lab's ports are chosen at start.
"""

from __future__ import annotations

SECRET_KEY = "dbtune-tests-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "dbtune",
    "tests.testapp",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "dbtune.middleware.DBTuneMiddleware",
]

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {},
    }
]

DBTUNE: dict[str, object] = {"NPLUSONE": {"ACTION": "log"}}
