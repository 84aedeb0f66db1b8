"""The bench's own parts that need no server: request templates, the CPU of a process tree and
the comparison of runs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from compare import comparison_rows, ratio
from http_load import RequestTemplate, placeholder_id
from process_cpu import cpu_by_pid, cpu_spent, process_tree


def test_a_rendered_request_has_fresh_ids_where_the_placeholders_were_and_the_same_length() -> None:
    body = json.dumps({"orders": [{"id": placeholder_id(0)}, {"id": placeholder_id(1)}]})
    template = RequestTemplate.post_json(
        "http://127.0.0.1:8001", "/v1/orders/batch", body.encode(), {"X-Token": "t"}, ids=2
    )

    first, second = template.render(), template.render()

    head, sent = first.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /v1/orders/batch HTTP/1.1\r\nHost: 127.0.0.1:8001\r\n")
    assert f"Content-Length: {len(body)}".encode() in head
    assert len(sent) == len(body)
    ids = [order["id"] for order in json.loads(sent)["orders"]]
    assert not {placeholder_id(0), placeholder_id(1)} & set(ids)
    assert len(set(ids)) == 2
    assert all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in ids)
    assert first != second


def test_a_template_whose_body_lacks_a_placeholder_is_refused() -> None:
    body = json.dumps({"id": placeholder_id(0)}).encode()

    with pytest.raises(ValueError, match="placeholder id 1"):
        RequestTemplate.post_json("http://127.0.0.1:1", "/v1/orders", body, {}, ids=2)


def test_two_runs_compare_figure_by_figure_with_b_over_a() -> None:
    a = {"suites": {"orders": {"single_orders_per_s": 200.0, "gone_in_b": 1.0}}}
    b = {"suites": {"orders": {"single_orders_per_s": 500.0}, "reporting": {"p99_ms": 9.0}}}

    rows = comparison_rows(a, b)

    assert rows == [
        ("orders.single_orders_per_s", "200.00", "500.00", "2.50x"),
        ("orders.gone_in_b", "1.00", "", "-"),
        ("reporting.p99_ms", "", "9.00", "-"),
    ]


def test_a_ratio_over_zero_or_a_missing_figure_is_a_dash() -> None:
    assert ratio(0.0, 5.0) == "-"
    assert ratio(None, 5.0) == "-"
    assert ratio(2.0, "text") == "-"


def test_a_process_tree_holds_the_workers_a_service_started_and_their_cpu() -> None:
    # A parent that starts a worker which works, then idles, as a multi-worker server does.
    worker = "sum(range(3_000_000)); import time; time.sleep(60)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {worker!r}])"
    server = subprocess.Popen([sys.executable, "-c", parent])  # noqa: S603 - our interpreter
    try:
        before = cpu_by_pid([server.pid])
        tree = [server.pid]
        for _ in range(200):
            tree = process_tree(server.pid)
            if len(tree) == 2 and sum(cpu_by_pid(tree[1:]).values()) > 0:
                break
            time.sleep(0.05)

        assert len(tree) == 2
        assert cpu_spent(before, cpu_by_pid(tree)) > 0
    finally:
        for pid in reversed(process_tree(server.pid)):
            os.kill(pid, signal.SIGTERM)
        server.wait(10)
