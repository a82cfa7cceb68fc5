"""The Python driver's programs for both topologies of the split scenario.

Both run the same operation mix with the same statements (:mod:`.ops`). The scale-up
program (A) sends every operation to one server; a spanning operation is one statement
(``order_view``) or one transaction (``checkout``). The split program (B) sends local
operations to their service's server; a spanning operation starts at the orders service,
calls the customers and catalog services in turn (each call waits ``rtt_ms`` first: the
labelled, driver-side model of the network hop between services), joins in Python and
commits each service's part on its own.
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from dataclasses import dataclass
from typing import Any

from dbtune.bench.driver import ClientSession, DriverProgram
from dbtune.bench.keys import zipf_cumulative
from dbtune.bench.pgbench import APPLICATION_NAME
from dbtune.bench.servers import SCHEMA
from dbtune.bench.split.ops import NAMES, OPERATIONS, Mix, for_psycopg


@dataclass(frozen=True)
class Ranges:
    """Active key counts per table (keys are drawn from ``1..n``)."""

    customers: int
    products: int
    orders: int


def _connect(dsn: str) -> Any:
    import psycopg

    return psycopg.connect(
        dsn, autocommit=True, application_name=APPLICATION_NAME, prepare_threshold=0
    )


class ShopProgram(DriverProgram):
    names = NAMES

    def __init__(self, mix: Mix, ranges: Ranges) -> None:
        self.mix = mix
        self.ranges = ranges
        self.cumulative = list(itertools.accumulate(mix.weights()[name] for name in NAMES))
        self.sql = {name: for_psycopg(name, SCHEMA) for name in _STATEMENTS}
        if mix.keys.kind == "zipfian":  # computed once here, shared by the forked clients
            for count in (ranges.customers, ranges.products - 2, ranges.orders):
                zipf_cumulative(max(count, 1), mix.keys.s)


_STATEMENTS = (*NAMES[:-1], "customer_name", "products_by_ids", "customer_check")
_STATEMENTS += ("reserve_total", "reserve_rows", "insert_order", "insert_items_joined")
_STATEMENTS += ("insert_items_given",)


class ShopSession(ClientSession):
    """Key samplers and operation choice shared by both topologies."""

    def __init__(self, program: ShopProgram, rng: random.Random) -> None:
        self.program, self.rng, self.sql = program, rng, program.sql
        keys, ranges = program.mix.keys, program.ranges
        self.cid = keys.sampler(ranges.customers, rng)
        self.pid = keys.sampler(ranges.products, rng)
        self.slot = keys.sampler(max(ranges.products - 2, 1), rng)
        self.oid = keys.sampler(ranges.orders, rng)

    def transaction(self) -> int:
        cumulative = self.program.cumulative
        index = bisect.bisect_right(cumulative, self.rng.random() * cumulative[-1])
        index = min(index, len(NAMES) - 1)
        self.operation(NAMES[index])
        return index

    def operation(self, name: str) -> None:
        raise NotImplementedError

    def params(self, name: str) -> dict[str, int]:
        if name.startswith("customer"):
            return {"cid": self.cid()}
        if name.startswith("product"):
            return {"pid": self.pid()}
        return {"oid": self.oid()}

    def run_local(self, conn: Any, name: str) -> None:
        cursor = conn.execute(self.sql[name], self.params(name), prepare=True)
        if cursor.description is not None:  # reads return rows; writes only a status
            cursor.fetchall()


class ScaleUpSession(ShopSession):
    def __init__(self, program: ScaleUpProgram, rng: random.Random) -> None:
        super().__init__(program, rng)
        self.conn = _connect(program.dsn)

    def operation(self, name: str) -> None:
        if name == "checkout":
            self.checkout()
        else:
            self.run_local(self.conn, name)

    def checkout(self) -> None:
        cid, pid = self.cid(), self.slot()
        with self.conn.transaction():
            self.conn.execute(self.sql["customer_check"], {"cid": cid}, prepare=True).fetchall()
            row = self.conn.execute(self.sql["reserve_total"], {"pid": pid}, prepare=True)
            total = row.fetchone()[0]
            values = {"cid": cid, "total": total}
            new = self.conn.execute(self.sql["insert_order"], values, prepare=True).fetchone()[0]
            values = {"id": new, "pid": pid}
            self.conn.execute(self.sql["insert_items_joined"], values, prepare=True)

    def close(self) -> None:
        self.conn.close()


class ScaleUpProgram(ShopProgram):
    def __init__(self, mix: Mix, ranges: Ranges, dsn: str) -> None:
        super().__init__(mix, ranges)
        self.dsn = dsn

    def session(self, client: int, rng: random.Random) -> ClientSession:
        return ScaleUpSession(self, rng)

    def describe(self) -> str:
        return "one server; spanning operations are one transaction with joins"


class SplitSession(ShopSession):
    def __init__(self, program: SplitProgram, rng: random.Random) -> None:
        super().__init__(program, rng)
        self.delay = program.rtt_ms / 1000.0
        self.conns = {service: _connect(dsn) for service, dsn in program.dsns.items()}

    def operation(self, name: str) -> None:
        if name == "checkout":
            self.checkout()
        elif name == "order_view":
            self.order_view()
        else:
            self.run_local(self.conns[OPERATIONS[name][0]], name)

    def hop(self) -> None:
        if self.delay > 0:
            time.sleep(self.delay)

    def order_view(self) -> list[tuple[Any, ...]]:
        sql, conns = self.sql, self.conns
        items = (
            conns["orders"]
            .execute(sql["order_read"], self.params("order_view"), prepare=True)
            .fetchall()
        )
        if not items:
            return []
        self.hop()
        customer = (
            conns["customers"]
            .execute(sql["customer_name"], {"cid": items[0][1]}, prepare=True)
            .fetchone()
        )
        self.hop()
        ids = [item[5] for item in items]
        rows = conns["catalog"].execute(sql["products_by_ids"], {"ids": ids}, prepare=True)
        products = {row[0]: row for row in rows.fetchall()}
        return [
            (item[0], item[2], *(customer or ("?", "?")), item[4], *products[item[5]][1:], item[6])
            for item in items
            if item[5] in products
        ]

    def checkout(self) -> None:
        sql, conns, cid, pid = self.sql, self.conns, self.cid(), self.slot()
        self.hop()
        conns["customers"].execute(sql["customer_check"], {"cid": cid}, prepare=True).fetchall()
        self.hop()
        with conns["catalog"].transaction():
            reserved = conns["catalog"].execute(sql["reserve_rows"], {"pid": pid}, prepare=True)
            rows = sorted(reserved.fetchall())
        with conns["orders"].transaction():
            values = {"cid": cid, "total": sum(row[1] for row in rows)}
            new = conns["orders"].execute(sql["insert_order"], values, prepare=True).fetchone()
            items = {
                "id": new[0],
                "lines": [row[0] - pid + 1 for row in rows],
                "products": [row[0] for row in rows],
                "prices": [row[1] for row in rows],
            }
            conns["orders"].execute(sql["insert_items_given"], items, prepare=True)

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()


class SplitProgram(ShopProgram):
    def __init__(self, mix: Mix, ranges: Ranges, dsns: dict[str, str], rtt_ms: float) -> None:
        super().__init__(mix, ranges)
        self.dsns = dsns
        self.rtt_ms = rtt_ms

    def session(self, client: int, rng: random.Random) -> ClientSession:
        return SplitSession(self, rng)

    def describe(self) -> str:
        return (
            "one server per service; spanning operations make round trips to each service "
            f"(+{self.rtt_ms:g} ms per hop between services), join in Python, no atomicity"
        )
