"""`make bench`'s orders suite run end to end for a second, so the bench cannot rot unnoticed.

It checks that the run completes, writes its JSON with every figure as a positive number, the
machine and code it ran on, and the issue's checks worked out. No speed is asserted: targets
live in the printed checks of a full `make bench`, never in a test.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent

pytestmark = pytest.mark.slow

FIGURES = {
    "concurrency",
    "raw_postgres_insert_with_outbox_per_s",
    "raw_rabbitmq_confirmed_publishes_per_s",
    "raw_order_statements_per_s",
    "raw_order_statements_client_cpu_ms_per_order",
    "raw_order_statements_postgres_cpu_ms_per_order",
    "service_processes",
    "single_orders_per_s",
    "single_p50_ms",
    "single_p99_ms",
    "single_service_cpu_ms_per_order",
    "single_generator_cpu_ms_per_order",
    "single_machine_cpu_busy_pct",
    "single_outbox_drain_after_load_s",
    "single_postgres_cpu_ms_per_order",
    "batch_size",
    "batch_concurrency",
    "batch_orders_per_s",
    "batch_p50_ms",
    "batch_p99_ms",
    "batch_service_cpu_ms_per_order",
    "batch_generator_cpu_ms_per_order",
    "batch_machine_cpu_busy_pct",
    "batch_outbox_drain_after_load_s",
    "batch_postgres_cpu_ms_per_order",
    "batch_vs_single_ratio",
    "single_vs_raw_order_statements_ratio",
    "single_vs_raw_postgres_ratio",
    "single_vs_raw_rabbitmq_ratio",
}
# Counts that may well be zero: orders refused, connections seen in a state.
MAYBE_ZERO = {
    "single_orders_not_created",
    "batch_orders_not_created",
    "single_postgres_connections_active_avg",
    "single_postgres_connections_idle_in_transaction_avg",
    "batch_postgres_connections_active_avg",
    "batch_postgres_connections_idle_in_transaction_avg",
}
NOT_CREATED = {"single_orders_not_created", "batch_orders_not_created"}


def test_the_orders_bench_writes_every_figure_as_a_positive_number(
    server_database_url: str, amqp_url: str, broker_namespace: str, tmp_path: Path
) -> None:
    settings = {
        "BENCH_DATABASE_URL": server_database_url,
        "BENCH_AMQP_URL": amqp_url,
        "BENCH_NAMESPACE": broker_namespace,
        "BENCH_DATABASE_PREFIX": f"pos_test_bench_{secrets.token_hex(4)}",
        "BENCH_RESULTS_DIR": str(tmp_path),
        "BENCH_DURATION_S": "1",
        "BENCH_WARMUP_S": "0.5",
        "BENCH_CONCURRENCY": "4",
        "BENCH_BATCH_SIZE": "20",
        "BENCH_BATCH_CONCURRENCY": "2",
    }

    done = subprocess.run(  # noqa: S603 - our own script with our interpreter
        [sys.executable, str(BENCH / "run_all.py"), "orders"],
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads((tmp_path / "latest.json").read_text())
    assert run["errors"] == {}
    assert set(run["notes"]["orders"]) == {
        "raw_order_statements",
        "load_generator",
        "single_postgres_active_statements",
        "batch_postgres_active_statements",
        "service_process_tree",
    }
    figures = run["suites"]["orders"]
    assert set(figures) == FIGURES | MAYBE_ZERO
    assert {k: v for k, v in figures.items() if k in FIGURES and not v > 0} == {}
    assert {k: v for k, v in figures.items() if k in MAYBE_ZERO and v < 0} == {}
    assert {k: figures[k] for k in NOT_CREATED} == dict.fromkeys(NOT_CREATED, 0.0)
    assert {"cores", "python", "postgres", "rabbitmq"} <= set(run["machine"])
    assert len(run["code"]["commit"]) == 40
    assert [c["statement"] for c in run["checks"]] == [
        "service CPU per order <= 1.0 ms",
        "orders >= 0.5 x the raw same-transaction rate",
        "batch path >= 5 x the single path's orders/s",
    ]
    assert [p.name for p in tmp_path.iterdir() if p.name != "latest.json"] != []
