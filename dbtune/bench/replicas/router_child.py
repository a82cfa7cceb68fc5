"""Child process of :class:`~dbtune.bench.replicas.router_load.RouterLoad` (see there).

``python -m dbtune.bench.replicas.router_child SPEC FOLDER``: configures Django from the
spec, runs the clients and writes ``FOLDER/outcome.json`` (a ``LoadOutcome`` as JSON).
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path
from typing import Any

from dbtune.bench.driver import ClientSession, DriverLoad, DriverProgram

PRIMARY = "default"


class RoundRobinRouter:
    """Reads alternate over every replica, writes go to the primary: the usual baseline."""

    replicas: list[str] = []

    def __init__(self) -> None:
        self._turn = itertools.count()

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.replicas[next(self._turn) % len(self.replicas)]

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return PRIMARY


def configure(spec: dict[str, Any]) -> dict[str, Any]:
    """Set up Django for ``spec``; returns ``{table: model class}``."""
    import django
    from django.conf import settings
    from django.db import models

    from dbtune.db import django_database

    databases = {}
    for alias, dsn in spec["databases"].items():
        entry = django_database(dsn)
        entry["OPTIONS"] = {"options": f"-c search_path={spec['schema']}"}
        entry["CONN_MAX_AGE"] = None
        databases[alias] = entry
    RoundRobinRouter.replicas = [alias for alias in databases if alias != PRIMARY]
    router = (
        "dbtune.routing.TableAffinityRouter"
        if spec["routing"] == "affine"
        else f"{__name__}.RoundRobinRouter"
    )
    settings.configure(
        DATABASES=databases,
        DATABASE_ROUTERS=[router],
        INSTALLED_APPS=[],
        USE_TZ=True,
        DBTUNE={
            "ENABLED": False,
            "ROUTING": {
                "PRIMARY": PRIMARY,
                "AFFINITY": spec["affinity"],
                "DEFAULT_REPLICAS": RoundRobinRouter.replicas,
                "MAX_LAG_SECONDS": 30.0,
                "READ_YOUR_WRITES": "off",
            },
        },
    )
    django.setup()
    found = {}
    for table in spec["rows"]:
        meta = type("Meta", (), {"app_label": "dbtune_bench", "db_table": table, "managed": False})
        attrs = {
            "__module__": __name__,
            "Meta": meta,
            "v": models.IntegerField(),
            "pad": models.TextField(),
        }
        name = "".join(part.title() for part in table.split("_"))
        found[table] = type(name, (models.Model,), attrs)
    return found


class RouterSession(ClientSession):
    def __init__(self, program: RouterProgram, rng: random.Random) -> None:
        self.program, self.rng = program, rng

    def transaction(self) -> int:
        from django.db.models import Sum

        program, rng = self.program, self.rng
        index = rng.randrange(len(program.names))
        table = program.names[index]
        keys = [rng.randint(1, program.rows[table]) for _ in range(program.keys_per_read)]
        program.models[table].objects.filter(pk__in=keys).aggregate(total=Sum("v"))
        return index

    def close(self) -> None:
        from django.db import connections

        connections.close_all()


class RouterProgram(DriverProgram):
    def __init__(self, models: dict[str, Any], rows: dict[str, int], keys_per_read: int) -> None:
        self.models, self.rows, self.keys_per_read = models, rows, keys_per_read
        self.names = list(rows)

    def session(self, client: int, rng: random.Random) -> ClientSession:
        return RouterSession(self, rng)

    def describe(self) -> str:
        return f"{self.keys_per_read} random rows of one random table through Django's router"


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    folder = Path(argv[1])
    models = configure(spec)
    program = RouterProgram(
        models, {k: int(v) for k, v in spec["rows"].items()}, spec["keys_per_read"]
    )
    load = DriverLoad(
        program=program, clients=spec["clients"], duration_s=spec["duration_s"], seed=spec["seed"]
    )
    outcome = load.run(folder)
    outcome.driver = "django"
    (folder / "outcome.json").write_text(json.dumps(outcome.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
