"""What the backfill reads from the registers and orders services' answers (no servers: the
answers are canned)."""

from __future__ import annotations

from typing import Any

import httpx

from odoo_connector.backfill import (
    Imported,
    RegisterSeen,
    ServicesApi,
    Skipped,
    our_methods,
)


def _api(answers: dict[str, Any]) -> ServicesApi:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers[request.url.path])

    transport = httpx.MockTransport(answer)
    registers = httpx.AsyncClient(base_url="http://registers", transport=transport)
    orders = httpx.AsyncClient(base_url="http://orders", transport=transport)
    return ServicesApi(registers, orders, "token")


async def test_a_register_without_a_pos_config_is_listed_with_none() -> None:
    api = _api(
        {
            "/v1/registers": {
                "items": [
                    {
                        "id": "r1",
                        "shop_id": "s1",
                        "receipt_prefix": "ODOO7",
                        "sync_state": "local",
                        "name": "Till",
                    }
                ]
            }
        }
    )
    assert await api.registers() == [RegisterSeen("r1", "s1", "ODOO7", "local", None)]


async def test_an_import_answer_gives_the_counts_and_every_skip_with_its_reason() -> None:
    api = _api(
        {
            "/v1/imports/orders": {
                "sessions": {"new": 1, "already_present": 0},
                "orders": {"new": 3, "already_present": 2},
                "refunds": {"new": 0, "already_present": 1},
                "skipped_orders": [{"odoo_order_id": 9, "reason": "r", "detail": "d"}],
                "skipped_refunds": [{"odoo_order_id": 12, "reason": "s", "detail": "e"}],
            }
        }
    )
    summary = await api.import_batch({"sessions": [], "orders": [], "refunds": []})
    assert (summary.sessions, summary.orders, summary.refunds) == (
        Imported(1, 0),
        Imported(3, 2),
        Imported(0, 1),
    )
    assert summary.skipped == (Skipped("order", 9, "r", "d"), Skipped("refund", 12, "s", "e"))


async def test_an_active_method_wins_an_odoo_method_several_of_ours_map_to() -> None:
    api = _api(
        {
            "/v1/payment-methods": {
                "items": [
                    {"code": "a-old", "kind": "cash", "active": False, "odoo_payment_method_id": 4},
                    {"code": "b-cash", "kind": "cash", "active": True, "odoo_payment_method_id": 4},
                    {"code": "card", "kind": "card", "active": True},
                ]
            }
        }
    )
    mapped = our_methods(await api.payment_methods())
    assert {odoo_id: method.code for odoo_id, method in mapped.items()} == {4: "b-cash"}
