"""How fast the Odoo emulator answers, so that it is never the bottleneck of the other benchmarks.

Measures, with latency injection off: `create_from_ui` (Odoo 17) for batches of 30 orders over real
HTTP (p50/p99 over 50 batches), then the memory taken by 100,000 orders held in memory, and the
batch time once they are there.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import statistics
import sys
import time
from typing import Any

import httpx

from odoo_emulator.testing import emulator_in_thread

BATCH_SIZE = 30
TIMED_BATCHES = 50
LOADED_ORDERS = 100_000
WARMUP_BATCHES = 5


def _rss_mib() -> float:
    """The process's current resident set size (the high-water mark where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError):
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak_kib / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _order(session_id: int, name: str, uid: int) -> dict[str, Any]:
    """A two-line card-paid order, as the POS UI sends it to Odoo 17."""
    return {
        "id": name,
        "to_invoice": False,
        "data": {
            "name": name,
            "pos_session_id": session_id,
            "user_id": uid,
            "partner_id": False,
            "sequence_number": 1,
            "date_order": "2024-05-01T10:00:00",
            "fiscal_position_id": False,
            "pricelist_id": 1,
            "amount_total": 7.5,
            "amount_tax": 0.98,
            "amount_paid": 7.5,
            "amount_return": 0,
            "lines": [
                [
                    0,
                    0,
                    {
                        "product_id": 1,
                        "qty": 1,
                        "price_unit": 2.5,
                        "discount": 0,
                        "price_subtotal": 2.17,
                        "price_subtotal_incl": 2.5,
                    },
                ],
                [
                    0,
                    0,
                    {
                        "product_id": 4,
                        "qty": 1,
                        "price_unit": 5.0,
                        "discount": 0,
                        "price_subtotal": 4.35,
                        "price_subtotal_incl": 5.0,
                    },
                ],
            ],
            "statement_ids": [
                [0, 0, {"name": "2024-05-01 10:00:00", "payment_method_id": 2, "amount": 7.5}]
            ],
        },
    }


class _Rpc:
    def __init__(self, client: httpx.AsyncClient, url: str, uid: int, key: str) -> None:
        self.client, self.url, self.uid, self.key = client, url, uid, key

    async def execute(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": ["demo", self.uid, self.key, model, method, list(args), kwargs],
            },
        }
        body = (await self.client.post(self.url, json=payload)).json()
        if "error" in body:
            raise RuntimeError(body["error"]["data"]["message"])
        return body.get("result")


async def _time_batches(rpc: _Rpc, session_id: int, prefix: str, count: int) -> list[float]:
    timings = []
    for batch in range(count):
        orders = [_order(session_id, f"{prefix}-{batch}-{i}", rpc.uid) for i in range(BATCH_SIZE)]
        started = time.perf_counter()
        result = await rpc.execute("pos.order", "create_from_ui", orders, draft=False)
        timings.append((time.perf_counter() - started) * 1000)
        if len(result) != BATCH_SIZE:
            raise RuntimeError(f"expected {BATCH_SIZE} orders back, got {len(result)}")
    return timings


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def run() -> dict[str, float]:
    """Start an emulator in this process (latency off) and measure it; figures in ms and MiB."""
    # The call log is off: it keeps every payload, which is not what "holding orders" measures.
    with emulator_in_thread(version=17, call_log_size=0) as emu:
        bot = emu.emulator.seeds["demo"]["users"][1]
        async with httpx.AsyncClient(timeout=30.0, verify=False) as client:  # noqa: S501
            rpc = _Rpc(client, emu.jsonrpc_url, bot["uid"], bot["api_key"])
            session_id = await rpc.execute("pos.session", "create", {"config_id": 1})
            await rpc.execute("pos.session", "set_cashbox_pos", [session_id], 0, "bench")
            await _time_batches(rpc, session_id, "warmup", WARMUP_BATCHES)
            empty = await _time_batches(rpc, session_id, "empty", TIMED_BATCHES)

            rss_before = _rss_mib()
            load_started = time.perf_counter()
            # Loading goes through the same dispatcher as HTTP calls, minus the socket.
            loaded = 0
            batch = 0
            while loaded < LOADED_ORDERS:
                size = min(BATCH_SIZE, LOADED_ORDERS - loaded)
                orders = [_order(session_id, f"load-{batch}-{i}", bot["uid"]) for i in range(size)]
                outcome = emu.emulator.call(
                    "object",
                    "execute_kw",
                    [
                        "demo",
                        bot["uid"],
                        bot["api_key"],
                        "pos.order",
                        "create_from_ui",
                        [orders],
                        {},
                    ],
                )
                if outcome.error is not None:
                    raise RuntimeError(outcome.error.message)
                loaded += size
                batch += 1
            load_seconds = time.perf_counter() - load_started
            # The loaded orders live on: later collections need not rescan them.
            gc.collect()
            gc.freeze()
            rss_after = _rss_mib()

            full = await _time_batches(rpc, session_id, "full", TIMED_BATCHES // 2)
            held = len(emu.emulator.databases["demo"].table("pos.order").rows)
            gc.unfreeze()
    return {
        "create_from_ui_batch30_p50_ms": statistics.median(empty),
        "create_from_ui_batch30_p99_ms": _percentile(empty, 0.99),
        "orders_held_in_memory": float(held),
        "load_100k_orders_seconds": load_seconds,
        "rss_delta_for_100k_orders_mib": rss_after - rss_before,
        "create_from_ui_batch30_p50_ms_with_100k_orders": statistics.median(full),
        "create_from_ui_batch30_p99_ms_with_100k_orders": _percentile(full, 0.99),
    }


if __name__ == "__main__":
    for key, value in asyncio.run(run()).items():
        print(f"{key:50} {value:12,.2f}")
