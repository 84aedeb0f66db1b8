"""What a Pro tenant's accountant finds in Odoo after a day at the till, read through Odoo's own
JSON-RPC: the session opened with the till's float and closed with its count, each tax booked as
the Z report has it, a cash difference booked once, and a close Odoo refuses never reported done.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from odoo_connector.odoo_client import OdooClient, OdooEndpoint
from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import RunningEmulator, running_emulator
from test_support.odoo_connector import ConnectorWorld, running_connector
from test_support.orders import Register
from test_support.polling import eventually
from test_support.registers import Tenant

from .conftest import System, pro_tenant_with_odoo

OPENING_FLOAT = 10_000


@pytest.fixture(params=[16, 17, 18])
async def odoo(request: pytest.FixtureRequest) -> AsyncIterator[RunningEmulator]:
    async with running_emulator(version=request.param) as emulator:
        yield emulator


@pytest.fixture
async def connector(common: Callable[[str], Any]) -> AsyncIterator[ConnectorWorld]:
    """Retries a few hundred ms apart: long enough for an accountant's fix to land between two."""
    settings = ConnectorSettings(
        **common("connector"), retry_delays_ms=(300, 600, 1200, 2400, 4800), wait_ms=50
    )
    async with running_connector(settings) as running:
        yield running


@dataclass
class Accountant:
    """Someone reading and fixing the tenant's Odoo through its JSON-RPC API."""

    client: OdooClient
    endpoint: OdooEndpoint
    uid: int

    async def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return await self.client.execute_kw(
            self.endpoint, self.uid, model, method, list(args), kwargs
        )

    async def session(self, session_id: int) -> dict[str, Any]:
        [row] = await self.call(
            "pos.session",
            "read",
            [session_id],
            fields=[
                "state",
                "cash_register_balance_start",
                "cash_register_balance_end",
                "cash_register_balance_end_real",
                "cash_register_difference",
            ],
        )
        return dict(row)

    async def taxes_booked(self, session_id: int) -> dict[tuple[str, bool], tuple[int, int]]:
        """Per tax, as (rate, price-include): the base and the tax the session's closing entry
        booked, in cents, sales positive."""
        [session] = await self.call("pos.session", "read", [session_id], fields=["move_id"])
        lines = await self.call(
            "account.move.line",
            "search_read",
            [["move_id", "=", session["move_id"][0]]],
            fields=["tax_ids", "tax_line_id", "debit", "credit"],
        )
        taxes = {
            t["id"]: (format(Decimal(repr(t["amount"])).normalize(), "f"), t["price_include"])
            for t in await self.call(
                "account.tax", "search_read", [], fields=["amount", "price_include"]
            )
        }
        booked: dict[tuple[str, bool], tuple[int, int]] = {}
        for line in lines:
            amount = _cents(line["credit"]) - _cents(line["debit"])
            touched = [(t, amount, 0) for t in line["tax_ids"]]
            if line["tax_line_id"]:
                touched.append((line["tax_line_id"][0], 0, amount))
            for tax_id, base, tax in touched:
                before = booked.get(taxes[tax_id], (0, 0))
                booked[taxes[tax_id]] = (before[0] + base, before[1] + tax)
        return booked

    async def cash_differences_at_closing(self, session_id: int) -> list[dict[str, Any]]:
        """The cash difference lines a close booked (16/17 also book one at opening, for a
        float other than the previous session's count)."""
        lines = await self.call(
            "account.bank.statement.line",
            "search_read",
            [["pos_session_id", "=", session_id]],
            fields=["payment_ref", "amount"],
        )
        return [
            line
            for line in lines
            if "difference" in line["payment_ref"] and "closing" in line["payment_ref"]
        ]

    async def sessions(self) -> list[dict[str, Any]]:
        rows = await self.call("pos.session", "search_read", [], fields=["id", "state"])
        return list(rows)

    async def cash_journal(self) -> dict[str, Any]:
        [journal] = await self.call(
            "account.journal",
            "search_read",
            [["type", "=", "cash"]],
            fields=["id", "loss_account_id", "profit_account_id"],
            limit=1,
            order="id",
        )
        return dict(journal)


@dataclass
class Till:
    tenant: Tenant
    register: Register
    device: dict[str, str]
    manager: dict[str, str]
    seed: dict[str, Any]
    session_id: str


async def _till(system: System, connector: ConnectorWorld, odoo: RunningEmulator) -> Till:
    """A Pro register linked to the demo pos.config (cash and card), a tablet, an open session
    with a 100.00 float."""
    tenant, shop, seed = await pro_tenant_with_odoo(system, connector, odoo)
    await system.registers.ok(
        "POST",
        "/v1/payment-methods",
        tenant.admin,
        201,
        json={
            "code": "cash",
            "name": "Cash",
            "kind": "cash",
            "odoo_payment_method_id": seed["cash_payment_method_id"],
        },
    )
    created = await system.registers.register(
        tenant, shop, name="Bar", odoo_pos_config_id=seed["pos_config_id"]
    )
    register = Register(
        register_id=uuid.UUID(created["id"]),
        tenant_id=tenant.id,
        shop_id=uuid.UUID(created["shop_id"]),
        name="Bar",
        receipt_prefix=created["receipt_prefix"],
    )
    device = await system.registers.token_for(
        tenant.admin, role="cashier", subject="tablet", register_id=str(register.register_id)
    )
    manager = await system.registers.token_for(tenant.admin, role="manager", subject="boss")

    async def opened() -> dict[str, Any] | None:
        response = await system.orders.client.post(
            "/v1/sessions",
            json={
                "register_id": str(register.register_id),
                "opening_cash": {"amount": OPENING_FLOAT, "currency": "EUR"},
            },
            headers=device,
        )
        if response.status_code == 422 and "is not known" in response.text:
            return None
        assert response.status_code == 201, response.text
        session: dict[str, Any] = response.json()
        return session

    session = await eventually(opened, what="orders knowing the new register")
    return Till(tenant, register, device, manager, seed, session["id"])


async def _accountant(odoo: RunningEmulator, seed: dict[str, Any]) -> AsyncIterator[Accountant]:
    admin = next(user for user in seed["users"] if user["login"] == "admin")
    endpoint = OdooEndpoint(odoo.url, "demo", "admin", admin["api_key"])
    client = OdooClient(timeout_s=10)
    try:
        uid = await client.authenticate(endpoint)
        assert uid is not None
        yield Accountant(client, endpoint, uid)
    finally:
        await client.aclose()


def _line(
    till: Till,
    name: str,
    quantity: str,
    unit: int,
    rate: str,
    included: bool,
    total: int,
    discount: str = "0",
) -> dict[str, Any]:
    return {
        "product_ref": name[:3].upper(),
        "product_name": name,
        "odoo_product_id": till.seed["pos_product_ids"][0],
        "quantity": quantity,
        "unit_price": {"amount": unit, "currency": "EUR"},
        "discount_percent": discount,
        "tax_rate_percent": rate,
        "prices_include_tax": included,
        "total": {"amount": total, "currency": "EUR"},
    }


async def _sell(
    system: System,
    till: Till,
    lines: list[dict[str, Any]],
    kind: str,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    total = sum(line["total"]["amount"] for line in lines)
    payment: dict[str, Any] = {
        "method": kind,
        "kind": kind,
        "amount": {"amount": total, "currency": "EUR"},
    }
    body = {
        "id": str(uuid.uuid4()),
        "register_id": str(till.register.register_id),
        "created_at": (created_at or datetime.now(UTC)).isoformat(),
        "lines": lines,
        "payments": [payment],
        "total": {"amount": total, "currency": "EUR"},
    }
    response = await system.orders.client.post("/v1/orders", json=body, headers=till.device)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def _refund_line(
    system: System, till: Till, order: dict[str, Any], index: int, kind: str
) -> dict[str, Any]:
    line = order["lines"][index]
    response = await system.orders.client.post(
        f"/v1/orders/{order['id']}/refunds",
        json={
            "id": str(uuid.uuid4()),
            "lines": [{"order_line_id": line["id"], "quantity": line["quantity"]}],
            "payments": [{"method": kind, "kind": kind, "amount": line["total"]}],
            "reason": "spilt",
        },
        headers=till.device,
    )
    assert response.status_code == 201, response.text
    refund: dict[str, Any] = response.json()
    return refund


async def _synced(system: System, till: Till, order_id: str) -> dict[str, Any]:
    async def stamped() -> dict[str, Any] | None:
        response = await system.orders.client.get(f"/v1/orders/{order_id}", headers=till.device)
        order: dict[str, Any] = response.json()
        return order if order["sync_state"] == "synced" else None

    return await eventually(stamped, within_s=20, what="the order in Odoo")


async def _close(system: System, till: Till, counted: int | None = None) -> dict[str, Any]:
    """Closes the till session counting `counted`, or exactly what the till expects."""
    current = await system.orders.client.get(f"/v1/sessions/{till.session_id}", headers=till.device)
    expected = current.json()["expected_cash"]["amount"]
    response = await system.orders.client.post(
        f"/v1/sessions/{till.session_id}/close",
        json={
            "counted_cash": {"amount": expected if counted is None else counted, "currency": "EUR"}
        },
        headers=till.device,
    )
    assert response.status_code == 200, response.text
    closed: dict[str, Any] = response.json()
    return closed


async def _till_session(
    system: System, till: Till, until: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    async def seen() -> dict[str, Any] | None:
        response = await system.orders.client.get(
            f"/v1/sessions/{till.session_id}", headers=till.manager
        )
        session: dict[str, Any] = response.json()
        return session if until(session) else None

    return await eventually(seen, within_s=30, what=what)


def _cents(value: float) -> int:
    return int((Decimal(repr(value)) * 100).to_integral_value())


async def test_a_day_of_cash_and_card_sales_with_a_cash_refund_closes_in_odoo_as_the_z_report_says(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    till = await _till(system, connector, odoo)
    coffees = [
        _line(till, "Flat white", "2", 350, "10", True, 700),
        _line(till, "Croissant", "1", 220, "10", True, 220),
    ]
    by_card = await _sell(system, till, coffees, "card")
    by_cash = await _sell(system, till, coffees, "cash")
    wine = await _sell(system, till, [_line(till, "Wine", "1", 500, "20", False, 600)], "cash")
    refund = await _refund_line(system, till, by_cash, 1, "cash")
    for order in (by_card, by_cash, wine):
        await _synced(system, till, order["id"])
    await _close(system, till)
    session = await _till_session(
        system, till, lambda s: s["sync_state"] == "synced", "the till session closed in Odoo"
    )
    z_report = (
        await system.reporting.client.get(
            f"/v1/reports/sessions/{till.session_id}", headers=till.manager
        )
    ).json()
    async for accountant in _accountant(odoo, till.seed):
        odoo_session = await accountant.session(session["odoo_session_id"])
        differences = await accountant.cash_differences_at_closing(session["odoo_session_id"])
        odoo_taxes = await accountant.taxes_booked(session["odoo_session_id"])

    assert refund["total"]["amount"] == 220
    assert odoo_session["state"] == "closed"
    assert _cents(odoo_session["cash_register_balance_start"]) == OPENING_FLOAT
    assert _cents(odoo_session["cash_register_difference"]) == 0
    assert _cents(odoo_session["cash_register_balance_end_real"]) == (
        OPENING_FLOAT + 920 + 600 - 220
    )
    assert differences == []
    z_taxes = {
        (row["rate"], row["inclusive"]): (row["net_taxable_base"], row["net_tax_amount"])
        for row in z_report["taxes"]
    }
    assert odoo_taxes == z_taxes
    assert set(z_taxes) == {("10", True), ("20", False)}


async def test_a_count_short_by_two_fifty_books_exactly_one_loss_of_two_fifty(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    till = await _till(system, connector, odoo)
    order = await _sell(
        system, till, [_line(till, "Flat white", "2", 350, "10", True, 700)], "cash"
    )
    await _synced(system, till, order["id"])
    await _close(system, till, counted=OPENING_FLOAT + 700 - 250)
    session = await _till_session(
        system, till, lambda s: s["sync_state"] == "synced", "the till session closed in Odoo"
    )
    async for accountant in _accountant(odoo, till.seed):
        odoo_session = await accountant.session(session["odoo_session_id"])
        differences = await accountant.cash_differences_at_closing(session["odoo_session_id"])
    assert [_cents(line["amount"]) for line in differences] == [-250]
    assert "(Loss)" in differences[0]["payment_ref"]
    assert _cents(odoo_session["cash_register_difference"]) == -250
    assert odoo_session["state"] == "closed"


async def test_a_difference_odoo_has_no_loss_account_for_is_refused_shown_and_closed_once_it_has(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    till = await _till(system, connector, odoo)
    order = await _sell(
        system, till, [_line(till, "Flat white", "2", 350, "10", True, 700)], "cash"
    )
    await _synced(system, till, order["id"])
    async for accountant in _accountant(odoo, till.seed):
        journal = await accountant.cash_journal()
        await accountant.call(
            "account.journal", "write", [journal["id"]], {"loss_account_id": False}
        )
        await _close(system, till, counted=OPENING_FLOAT + 700 - 250)
        refused = await _till_session(
            system, till, lambda s: s["sync_error"] is not None, "the refusal shown"
        )
        await accountant.call(
            "account.journal",
            "write",
            [journal["id"]],
            {"loss_account_id": journal["loss_account_id"][0]},
        )
        closed = await _till_session(
            system, till, lambda s: s["sync_state"] == "synced", "the close retried"
        )
        odoo_session = await accountant.session(closed["odoo_session_id"])
    assert refused["sync_state"] == "pending"
    assert "Loss Account" in refused["sync_error"]
    assert closed["sync_error"] is None
    assert odoo_session["state"] == "closed"
    assert _cents(odoo_session["cash_register_difference"]) == -250


async def test_odoo_books_the_tax_of_included_and_excluded_lines_with_discounts_as_the_till(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    till = await _till(system, connector, odoo)
    lines = [
        # 5 % off 1.50 is 0.075: the till rounds the discount, Odoo the discounted price.
        _line(till, "Croissant", "1", 150, "10", True, 142, discount="5"),
        _line(till, "Flat white", "3", 345, "10", True, 931, discount="10"),
        _line(till, "Wine", "2", 415, "20", False, 946, discount="5"),
    ]
    order = await _sell(system, till, lines, "card")
    synced = await _synced(system, till, order["id"])
    async for accountant in _accountant(odoo, till.seed):
        [in_odoo] = await accountant.call(
            "pos.order", "read", [synced["odoo_order_id"]], fields=["amount_tax", "amount_total"]
        )
    assert _cents(in_odoo["amount_tax"]) == order["tax_total"]["amount"]
    assert _cents(in_odoo["amount_total"]) == order["total"]["amount"]


async def test_a_force_close_wizard_answer_leaves_the_session_tracked_and_not_reported_closed(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    till = await _till(system, connector, odoo)
    order = await _sell(system, till, [_line(till, "Wine", "1", 500, "20", False, 600)], "card")
    synced = await _synced(system, till, order["id"])
    async for accountant in _accountant(odoo, till.seed):
        [in_odoo] = await accountant.call(
            "pos.order", "read", [synced["odoo_order_id"]], fields=["session_id", "lines"]
        )
        [line] = await accountant.call(
            "pos.order.line", "read", in_odoo["lines"], fields=["tax_ids"]
        )
        # Someone changes the rate of the tax the sale was booked with: the tax Odoo computes
        # at closing no longer adds up to what was paid.
        await accountant.call("account.tax", "write", line["tax_ids"], {"amount": 22.0})
        await _close(system, till)
        refused = await _till_session(
            system, till, lambda s: s["sync_error"] is not None, "the wizard answer shown"
        )
        odoo_session = await accountant.session(in_odoo["session_id"][0])
    tracked = await connector.pool.fetch(
        f"SELECT odoo_session_id, state FROM {connector.schema}.odoo_pos_sessions"
    )
    assert refused["sync_state"] == "pending"
    assert "Force Close Session" in refused["sync_error"]
    assert odoo_session["state"] == "closing_control"
    assert [(r["odoo_session_id"], r["state"]) for r in tracked] == [
        (in_odoo["session_id"][0], "closing")
    ]


async def test_a_sale_at_half_past_eleven_at_night_is_in_odoo_at_its_utc_time_and_its_own_day(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    till = await _till(system, connector, odoo)
    late = datetime.now(UTC).replace(hour=22, minute=30, second=0, microsecond=0)
    local = late.astimezone(timezone(timedelta(hours=1)))
    order = await _sell(
        system, till, [_line(till, "Wine", "1", 500, "20", False, 600)], "card", created_at=local
    )
    synced = await _synced(system, till, order["id"])
    async for accountant in _accountant(odoo, till.seed):
        [in_odoo] = await accountant.call(
            "pos.order", "read", [synced["odoo_order_id"]], fields=["date_order"]
        )
    assert in_odoo["date_order"] == late.strftime("%Y-%m-%d %H:%M:%S")
    assert order["business_date"] == local.date().isoformat()
