"""Django app config: registers system checks and nothing else at import time."""

from __future__ import annotations

from django.apps import AppConfig


class DBTuneConfig(AppConfig):
    name = "dbtune"
    verbose_name = "dbtune"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dbtune import (
            checks,  # noqa: F401  (registers the checks)
            conf,
        )

        conf.connect_signals()
        from dbtune.capture import track_connections

        track_connections()
        from dbtune.nplusone.integration import install as install_nplusone

        install_nplusone()
        from dbtune.routing.carrier import install as install_read_your_writes

        install_read_your_writes()
