"""pgbench command lines and output, key distributions, the split mix and the Python driver."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest

from dbtune.bench import ClientSession, DriverLoad, DriverProgram, PgbenchLoad
from dbtune.bench.keys import KeyChoice
from dbtune.bench.pgbench import parse_output
from dbtune.bench.split.ops import NAMES, Mix, for_pgbench, for_psycopg, pgbench_script

PG18_OUTPUT = """\
pgbench (18.6)
transaction type: multiple scripts
scaling factor: 1
query mode: prepared
number of clients: 4
number of threads: 2
maximum number of tries: 2
duration: 2 s
number of transactions actually processed: 5133
number of failed transactions: 514 (9.102%)
number of serialization failures: 514 (9.102%)
number of deadlock failures: 0 (0.000%)
number of transactions retried: 1471 (26.049%)
total number of retries: 1471
latency average = 1.404 ms (including failures)
initial connection time = 20.287 ms
tps = 2590.017358 (without initial connection time)
"""


def test_pgbench_output_is_parsed() -> None:
    found = parse_output(PG18_OUTPUT)
    assert found["tps"] == pytest.approx(2590.017358)
    assert found["processed"] == 5133
    assert found["failed"] == 514
    assert found["serialization"] == 514
    assert found["deadlock"] == 0
    assert found["retried"] == 1471
    assert found["latency_avg_ms"] == pytest.approx(1.404)
    assert "latency_stddev_ms" not in found


def test_pgbench_command_line_has_the_protocol_flags(tmp_path: Path) -> None:
    load = PgbenchLoad(
        dsn="postgresql://bench:secret@db.example:5432/app",
        scripts=[(tmp_path / "read.sql", 9), (tmp_path / "write.sql", 1)],
        clients=4,
        jobs=2,
        duration_s=3,
        defines={"active_rows": 1000},
        max_tries=3,
    )
    argv = load.argv(Path("pgbench"), tmp_path / "pgbench_log")
    assert argv[1:4] == ["-n", "-M", "prepared"]
    assert argv[4:10] == ["-c", "4", "-j", "2", "-T", "3"]
    assert f"{tmp_path / 'read.sql'}@9" in argv
    assert argv[argv.index("-D") : argv.index("-D") + 2] == ["-D", "active_rows=1000"]
    assert "--failures-detailed" in argv
    assert "--max-tries=3" in argv
    assert "--log" in argv
    assert f"--log-prefix={tmp_path / 'pgbench_log'}" in argv
    (command,) = load.commands()
    assert command.startswith("PGAPPNAME=dbtune-bench ")
    assert "secret" not in command
    assert "--log" not in command


def test_uniform_and_zipfian_keys_in_pgbench_scripts() -> None:
    assert KeyChoice("uniform").pgbench_lines("aid", "n") == ["\\set aid random(1, :n)"]
    zipf = KeyChoice("zipfian", 1.2).pgbench_lines("aid", "n")
    assert zipf[0] == "\\set aid_rank random_zipfian(1, :n, 1.2)"
    assert "hash(:aid_rank)" in zipf[1]
    with pytest.raises(ValueError, match="greater than 1"):
        KeyChoice("zipfian", 0.9)
    with pytest.raises(ValueError, match="unknown key distribution"):
        KeyChoice("gaussian")


@pytest.mark.parametrize("count", [1, 7, 1000], ids=["one-key", "small", "larger"])
def test_key_samplers_stay_in_range(count: int) -> None:
    for kind in ("uniform", "zipfian"):
        sampler = KeyChoice(kind).sampler(count, random.Random(1))
        assert {sampler() for _ in range(500)} <= set(range(1, count + 1))


def test_zipfian_keys_concentrate_on_a_few_scattered_keys() -> None:
    draws = Counter(KeyChoice("zipfian", 1.5).sampler(10_000, random.Random(7)).several(5000))
    top, second = (key for key, _ in draws.most_common(2))
    assert draws[top] > 5000 * 0.3
    assert top != 1 or second != 2  # hot ranks are scattered, not the first keys in order


def test_split_mix_weights() -> None:
    keys = KeyChoice()
    local = Mix(0.0, "equal", keys).weights()
    assert sum(local.values()) == pytest.approx(1.0)
    assert local["order_view"] == local["checkout"] == 0
    assert local["customer_read"] == pytest.approx(local["order_read"])
    hot = Mix(0.2, "hot", keys).weights()
    assert hot["order_view"] + hot["checkout"] == pytest.approx(0.2)
    assert hot["order_read"] > hot["customer_read"]
    assert "checkout" not in Mix(0.0, "equal", keys).integer_weights()


def test_split_statements_render_for_both_drivers() -> None:
    assert ":oid" in for_pgbench("order_view", "s")
    assert "%(oid)s" in for_psycopg("order_view", "s")
    checkout = pgbench_script("checkout", "dbtune_bench", KeyChoice())
    assert checkout.count("\\gset") == 2
    assert "BEGIN;" in checkout
    assert "END;" in checkout
    assert "\\set n_slots :n_products - 2" in checkout
    for name in NAMES:
        assert "dbtune_bench." in pgbench_script(name, "dbtune_bench", KeyChoice())


class _Failure(Exception):
    sqlstate = "40001"


class _Session(ClientSession):
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def transaction(self) -> int:
        time.sleep(0.001)
        if self.rng.random() < 0.2:
            raise _Failure("could not serialize access")
        return self.rng.randrange(2)


class _Program(DriverProgram):
    names = ["read", "write"]

    def session(self, client: int, rng: random.Random) -> ClientSession:
        return _Session(rng)


def test_python_driver_writes_pgbench_logs_and_counts_failures(tmp_path: Path) -> None:
    outcome = DriverLoad(_Program(), clients=2, duration_s=0.4).run(tmp_path)
    assert outcome.error is None
    assert outcome.tps is not None
    assert outcome.tps > 0
    assert outcome.failures["serialization"] == outcome.failed > 0
    assert set(outcome.by_script) <= {"read", "write"}
    assert outcome.latency_ms is not None
    assert outcome.latency_ms["p50"] <= outcome.latency_ms["p99"]
    assert sorted(path.name for path in tmp_path.glob("driver_log.*")) == [
        "driver_log.0",
        "driver_log.1",
    ]
