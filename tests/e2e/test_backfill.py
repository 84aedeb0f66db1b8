"""A Pro tenant's Odoo history comes home through `odoo-connector backfill`: closed sessions with
their orders and refunds, once, with the Odoo ids stamped, and never pushed back to Odoo."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from odoo_connector.backfill import (
    BackfillError,
    BackfillOptions,
    BackfillReport,
    ServicesApi,
    Target,
    backfill,
    plan_history,
)
from odoo_connector.breaker import CircuitBreakers
from odoo_connector.cli import cli
from odoo_connector.credentials import credentials_box
from odoo_connector.odoo_client import OdooClient, OdooEndpoint
from odoo_connector.odoo_history import HistoryReader
from odoo_connector.odoo_pos import OdooPos
from odoo_emulator.testing import RunningEmulator, running_emulator
from test_support.odoo_connector import ConnectorWorld
from test_support.orders import Register
from test_support.polling import eventually
from test_support.registers import Tenant

from .conftest import System
from .test_pro_tenant_reaches_odoo import _place, _synced

# Everything an Odoo user can do without changing anything.
READS = {"search_read", "read", "fields_get", "search", "search_count", "version", "login"}
READS |= {"authenticate"}


class Odoo:
    """The tenant's Odoo as its own POS made the history: through Odoo's JSON-RPC."""

    def __init__(self, emulator: RunningEmulator, seed: dict[str, Any]) -> None:
        self.seed = seed
        admin = next(u for u in seed["users"] if u["login"] == "admin")
        self.endpoint = OdooEndpoint(emulator.url, "demo", "admin", admin["api_key"])
        self.client = OdooClient()
        self.uid = 0
        self.version = emulator.version

    async def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        if not self.uid:
            self.uid = await self.client.authenticate(self.endpoint) or 0
        return await self.client.execute_kw(
            self.endpoint, self.uid, model, method, list(args), kwargs
        )

    async def session(self, config_id: int, float_cash: float = 0.0) -> int:
        session_id: int = await self.call("pos.session", "create", {"config_id": config_id})
        [state] = await self.call("pos.session", "read", [session_id], fields=["state"])
        if state["state"] == "opening_control":
            opening = "set_opening_control" if self.version == 18 else "set_cashbox_pos"
            await self.call("pos.session", opening, [session_id], float_cash, "")
        return session_id

    async def close(self, session_id: int, day: str, counted: float) -> None:
        await self.call(
            "pos.session", "write", [session_id], {"cash_register_balance_end_real": counted}
        )
        await self.call("pos.session", "action_pos_session_closing_control", [session_id])
        # The emulator stamps a session with the moment it opened: make it last month's.
        await self.call(
            "pos.session",
            "write",
            [session_id],
            {"start_at": f"{day} 07:00:00", "stop_at": f"{day} 19:00:00"},
        )

    async def order(
        self,
        session_id: int,
        number: int,
        at: str,
        lines: list[tuple[int, float, float, bool]],
        payments: list[tuple[int, float]],
        amount_return: float = 0.0,
        draft: bool = False,
        refunds: list[int] | None = None,
    ) -> int:
        """`lines`: (product, qty, unit price, taxed at 15%); returns the Odoo order id."""
        tax = self.seed["tax_id"]
        odoo_lines = []
        total = tax_total = 0.0
        for position, (product, qty, price, taxed) in enumerate(lines):
            net = round(qty * price, 2)
            incl = round(net * 1.15, 2) if taxed else net
            total += incl
            tax_total += incl - net
            values: dict[str, Any] = {
                "product_id": product,
                "qty": qty,
                "price_unit": price,
                "discount": 0,
                "price_subtotal": net,
                "price_subtotal_incl": incl,
                "tax_ids": [[6, False, [tax] if taxed else []]],
            }
            if refunds:
                values["refunded_orderline_id"] = refunds[position]
            odoo_lines.append([0, 0, values])
        data = {
            "name": f"Order 00001-001-{number:04d}",
            "pos_session_id": session_id,
            "user_id": self.uid,
            "partner_id": False,
            "sequence_number": number,
            "date_order": at,
            "fiscal_position_id": False,
            "pricelist_id": self.seed["pricelist_id"],
            "amount_total": round(total, 2),
            "amount_tax": round(tax_total, 2),
            "amount_paid": round(sum(a for _, a in payments), 2),
            "amount_return": amount_return,
            "lines": odoo_lines,
            "statement_ids": [
                [0, 0, {"name": at, "payment_method_id": method, "amount": amount}]
                for method, amount in payments
            ],
        }
        if self.version == 18:
            # 18 takes flat orders (sync_from_ui), told apart by uuid.
            flat = {k: v for k, v in data.items() if k not in ("pos_session_id", "statement_ids")}
            flat.update(
                uuid=str(uuid.uuid4()),
                session_id=session_id,
                state="draft" if draft else "paid",
                payment_ids=[
                    [0, 0, {"payment_method_id": m, "amount": a, "payment_date": at}]
                    for m, a in payments
                ],
            )
            synced = await self.call("pos.order", "sync_from_ui", [flat])
            return int(synced["pos.order"][0]["id"])
        if self.version == 16:
            data["creation_date"] = data.pop("date_order")
        [created] = await self.call(
            "pos.order", "create_from_ui", [{"id": str(number), "data": data}], draft=draft
        )
        return int(created["id"])

    async def line_ids(self, order_id: int) -> list[int]:
        rows = await self.call(
            "pos.order.line", "search_read", [["order_id", "=", order_id]], fields=["id"]
        )
        return sorted(r["id"] for r in rows)


@dataclass
class History:
    tenant: Tenant
    bar: dict[str, Any]
    products: list[int]
    terrace_config_id: int
    sale: int  # two espressos and a croissant, cash with change; one espresso refunded
    coffee: int  # a cappuccino by card
    cancelled: int
    reward: int  # carries a negative-price reward line
    refund: int
    terrace_sale: int
    open_sale: int  # in a session still open
    over_refund: int | None

    @property
    def bar_register_id(self) -> str:
        return str(self.bar["id"])

    @property
    def made_in_odoo(self) -> set[int]:
        return {
            self.sale,
            self.coffee,
            self.cancelled,
            self.reward,
            self.refund,
            self.terrace_sale,
            self.open_sale,
            *([self.over_refund] if self.over_refund else []),
        }


async def _history(
    system: System,
    connector: ConnectorWorld,
    emulator: RunningEmulator,
    over_refund: bool = False,
) -> History:
    """Two closed sessions on two pos.configs (the second has no register here) and an open one;
    the tenant set up as an admin does it (see test_pro_tenant_reaches_odoo). `over_refund`:
    Monday also has a refund of two croissants where one was sold (Odoo has no cap)."""
    seed = await emulator.control.seed("demo")
    odoo = Odoo(emulator, seed)
    espresso, cappuccino, croissant, _ = seed["pos_product_ids"]
    cash, card = seed["cash_payment_method_id"], seed["card_payment_method_id"]
    shop_config = seed["pos_config_id"]
    terrace = await odoo.call(
        "pos.config",
        "create",
        {
            "name": "Terrace",
            "journal_id": seed["pos_journal_id"],
            "invoice_journal_id": seed["invoice_journal_id"],
            "picking_type_id": seed["picking_type_id"],
            "warehouse_id": seed["warehouse_id"],
            "pricelist_id": seed["pricelist_id"],
            "available_pricelist_ids": [[6, 0, [seed["pricelist_id"]]]],
            "payment_method_ids": [[6, 0, [card]]],
        },
    )

    monday = await odoo.session(shop_config, float_cash=100.0)
    sale = await odoo.order(
        monday,
        1,
        "2026-03-02 09:00:00",
        [(espresso, 2, 2.0, True), (croissant, 1, 1.6, True)],
        [(cash, 10.0)],
        amount_return=3.56,
    )
    coffee = await odoo.order(
        monday, 2, "2026-03-02 09:30:00", [(cappuccino, 1, 3.0, True)], [(card, 3.45)]
    )
    cancelled = await odoo.order(
        monday, 3, "2026-03-02 10:00:00", [(croissant, 1, 1.6, True)], [], draft=True
    )
    await odoo.call("pos.order", "action_pos_order_cancel", [cancelled])
    reward = await odoo.order(
        monday,
        4,
        "2026-03-02 10:30:00",
        [(espresso, 1, 2.0, True), (croissant, 1, -0.5, False)],
        [(card, 1.8)],
    )
    espresso_line = (await odoo.line_ids(sale))[0]
    refund = await odoo.order(
        monday,
        5,
        "2026-03-02 11:00:00",
        [(espresso, -1, 2.0, True)],
        [(cash, -2.3)],
        refunds=[espresso_line],
    )
    too_many = None
    if over_refund:
        croissant_line = (await odoo.line_ids(sale))[1]
        too_many = await odoo.order(
            monday,
            8,
            "2026-03-02 12:00:00",
            [(croissant, -2, 1.6, True)],
            [(cash, -3.68)],
            refunds=[croissant_line],
        )
    await odoo.close(monday, "2026-03-02", counted=104.14)

    tuesday = await odoo.session(terrace)
    terrace_sale = await odoo.order(
        tuesday, 6, "2026-03-03 12:00:00", [(croissant, 2, 1.6, True)], [(card, 3.68)]
    )
    await odoo.close(tuesday, "2026-03-03", counted=0.0)

    today = await odoo.session(shop_config)
    open_sale = await odoo.order(
        today, 7, "2026-03-04 09:00:00", [(cappuccino, 1, 3.0, True)], [(card, 3.45)]
    )
    await odoo.client.aclose()

    registers = system.registers
    tenant = await registers.tenant("pro")
    shop = await registers.shop(tenant, name="Harbour")
    bar = await registers.register(tenant, shop, name="Bar")
    await registers.patch_register(tenant, bar, odoo_pos_config_id=shop_config)
    await registers.ok(
        "POST",
        "/v1/payment-methods",
        tenant.admin,
        201,
        json={"code": "card", "name": "Card", "kind": "card", "odoo_payment_method_id": card},
    )
    bot = next(user for user in seed["users"] if user["login"] == "pos-bot")
    stored = await connector.client.put(
        f"/v1/tenants/{tenant.id}/odoo",
        json={
            "url": emulator.url,
            "database": "demo",
            "login": "pos-bot",
            "secret": bot["api_key"],
        },
        headers=tenant.admin,
    )
    assert stored.status_code == 200, stored.text
    return History(
        tenant,
        bar,
        seed["pos_product_ids"],
        terrace,
        sale,
        coffee,
        cancelled,
        reward,
        refund,
        terrace_sale,
        open_sale,
        too_many,
    )


@contextlib.asynccontextmanager
async def _odoo_pos() -> AsyncIterator[OdooPos]:
    client = OdooClient()
    breakers = CircuitBreakers(client.probe, 3, 1.0, 60.0)
    try:
        yield OdooPos(client, breakers)
    finally:
        await breakers.close()
        await client.aclose()


async def _run(
    system: System,
    connector: ConnectorWorld,
    tenant: Tenant,
    since: date | None = None,
    dry_run: bool = False,
    token: str | None = None,
) -> BackfillReport:
    settings = connector.settings
    secrets = credentials_box(settings)
    api = ServicesApi(
        system.registers.client,
        system.orders.client,
        token or tenant.admin["Authorization"].removeprefix("Bearer "),
    )
    async with _odoo_pos() as pos:
        return await backfill(
            connector.pool,
            pos,
            secrets,
            api,
            BackfillOptions(tenant.id, since=since, dry_run=dry_run),
        )


def _writes(calls: list[dict[str, Any]]) -> list[str]:
    return [
        f"{c.get('model')}.{c.get('model_method') or c.get('method')}"
        for c in calls
        if (c.get("model_method") or c.get("method")) not in READS
    ]


async def test_a_tenants_closed_odoo_history_comes_home_once_and_is_never_pushed_back(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    history = await _history(system, connector, odoo)
    tenant = history.tenant

    first = await _run(system, connector, tenant)

    assert (first.sessions.new, first.orders.new, first.refunds.new) == (2, 3, 1)
    assert first.cancelled == 1
    assert first.orders_in_open_sessions == 1
    assert [(s.kind, s.odoo_id, s.reason) for s in first.skipped] == [
        ("order", history.reward, "negative_price_line")
    ]
    assert first.registers_created == [f"Terrace (ODOO{history.terrace_config_id}) in shop Harbour"]

    headers = tenant.admin
    orders = (await system.orders.client.get("/v1/orders", headers=headers)).json()["items"]
    assert sorted(o["odoo_order_id"] for o in orders) == sorted(
        [history.sale, history.coffee, history.terrace_sale]
    )
    assert {o["source"] for o in orders} == {"odoo_pulled"}
    sale = next(o for o in orders if o["odoo_order_id"] == history.sale)
    assert sale["receipt_number"] == "Order 00001-001-0001"
    assert sale["total"]["amount"] == 644
    # Paid 10.00 in cash with 3.56 change: the payment is what the drawer kept.
    assert [(p["method"], p["kind"], p["amount"]["amount"]) for p in sale["payments"]] == [
        ("Cash", "cash", 644)
    ]
    assert sale["state"] == "partially_refunded"
    [refund] = sale["refunds"]
    assert (refund["odoo_order_id"], refund["total"]["amount"]) == (history.refund, 230)
    assert sale["lines"][0]["refunded_quantity"] == "1"
    coffee = next(o for o in orders if o["odoo_order_id"] == history.coffee)
    assert [(p["method"], p["kind"]) for p in coffee["payments"]] == [("card", "card")]
    assert coffee["lines"][0]["tax_rate_percent"] == "15"

    sessions = (await system.orders.client.get("/v1/sessions", headers=headers)).json()["items"]
    assert {(s["source"], s["state"]) for s in sessions} == {("odoo_pulled", "closed")}
    monday = next(s for s in sessions if s["register_id"] == history.bar_register_id)
    assert (monday["opening_cash"]["amount"], monday["counted_cash"]["amount"]) == (10000, 10414)
    assert monday["expected_cash"]["amount"] == 10000 + 644 - 230

    [terrace] = [
        r
        for r in (await system.registers.client.get("/v1/registers", headers=headers)).json()[
            "items"
        ]
        if r["name"] == "Terrace"
    ]
    assert terrace["receipt_prefix"] == f"ODOO{history.terrace_config_id}"
    assert first.registers_linked == {history.terrace_config_id: uuid.UUID(terrace["id"])}
    # Linking makes nothing in Odoo: it still has its own two pos.configs.
    configs = await odoo.control.records("demo", "pos.config", fields=["id"])
    assert sorted(c["id"] for c in configs) == [1, history.terrace_config_id]
    [tuesday] = [s for s in sessions if s["register_id"] == terrace["id"]]
    assert tuesday["totals"]["order_count"] == 1

    # Reports count the imported history like any other day's sales.
    day = monday["business_date"]
    of_day = [s["totals"] for s in sessions if s["business_date"] == day]

    async def reported() -> dict[str, Any] | None:
        response = await system.reporting.client.get(
            "/v1/reports/daily",
            params={"shop_id": history.bar["shop_id"], "business_date": day},
            headers=headers,
        )
        body: dict[str, Any] = response.json()
        counts = (
            (body.get("totals") or {}).get("order_count"),
            (body.get("totals") or {}).get("refund_count"),
        )
        expected = (
            sum(t["order_count"] for t in of_day),
            sum(t["refund_count"] for t in of_day),
        )
        return body if counts == expected else None

    daily = await eventually(reported, what="the imported day in the daily report")
    assert daily["totals"]["net"] == sum(t["net_total"]["amount"] for t in of_day)

    before_second = max((c["seq"] for c in await odoo.control.calls()), default=0)
    second = await _run(system, connector, tenant)
    assert (second.sessions.new, second.orders.new, second.refunds.new) == (0, 0, 0)
    assert (second.sessions.already_present, second.orders.already_present) == (2, 3)
    assert second.registers_created == []
    assert _writes(await odoo.control.calls(since=before_second)) == []

    # A sale made here after the backfill reaches Odoo; the imported ones never went there.
    device = await system.registers.token_for(
        tenant.admin, role="cashier", subject="tablet", register_id=history.bar_register_id
    )
    bar = Register(
        register_id=uuid.UUID(history.bar_register_id),
        tenant_id=tenant.id,
        shop_id=uuid.UUID(history.bar["shop_id"]),
        name="Bar",
        receipt_prefix=history.bar["receipt_prefix"],
    )
    placed = await _place(system, bar, device, history.products)
    await _synced(system, placed["id"], device)
    in_odoo = await odoo.control.records("demo", "pos.order")
    made_here = [o for o in in_odoo if o["id"] not in history.made_in_odoo]
    assert [o["pos_reference"] for o in made_here] == [f"Order {placed['receipt_number']}"]

    async def imported_seen() -> bool:
        # The connector remembers an imported order's Odoo id when it handles its order.placed.
        seen = await connector.pool.fetch(
            f"SELECT odoo_order_id FROM {connector.schema}.synced_orders WHERE tenant_id = $1",
            tenant.id,
        )
        return {history.sale, history.coffee, history.terrace_sale} <= {
            r["odoo_order_id"] for r in seen
        }

    await eventually(imported_seen, what="the connector handling the imported orders")
    stamped = await connector.pool.fetch(
        f"SELECT aggregate_id FROM {connector.schema}.outbox WHERE event_type = $1",
        "order.odoo_synced",
    )
    assert [str(r["aggregate_id"]) for r in stamped] == [placed["id"]]


async def test_since_limits_the_run_and_a_dry_run_sends_nothing(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    history = await _history(system, connector, odoo)
    tenant = history.tenant
    headers = tenant.admin
    before = max((c["seq"] for c in await odoo.control.calls()), default=0)

    planned = await _run(system, connector, tenant, since=date(2026, 3, 3), dry_run=True)

    assert (planned.sessions.new, planned.orders.new, planned.refunds.new) == (1, 1, 0)
    assert [b["orders"] for b in planned.batches] == [1]
    assert planned.registers_created == [
        f"Terrace (ODOO{history.terrace_config_id}) in shop Harbour"
    ]
    assert (await system.orders.client.get("/v1/orders", headers=headers)).json()["items"] == []
    registers = (await system.registers.client.get("/v1/registers", headers=headers)).json()
    assert [r["name"] for r in registers["items"]] == ["Bar"]
    assert _writes(await odoo.control.calls(since=before)) == []

    later = await _run(system, connector, tenant, since=date(2026, 3, 3))

    assert (later.sessions.new, later.orders.new, later.cancelled) == (1, 1, 0)
    orders = (await system.orders.client.get("/v1/orders", headers=headers)).json()["items"]
    assert [o["odoo_order_id"] for o in orders] == [history.terrace_sale]


async def test_a_refused_token_or_missing_settings_stop_the_run_with_a_clear_message(
    system: System, connector: ConnectorWorld
) -> None:
    tenant = await system.registers.tenant("pro")
    with pytest.raises(BackfillError, match="refused the admin token"):
        await _run(system, connector, tenant, token="not-a-token")
    with pytest.raises(BackfillError, match="has no Odoo settings; PUT /v1/tenants/"):
        await _run(system, connector, tenant)


def test_the_cli_exits_non_zero_when_the_registers_service_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("CONNECTOR_DEV_MODE", "true")
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", database_url)
    # Nothing listens on port 9 here: the run stops before reading Odoo.
    monkeypatch.setenv("CONNECTOR_REGISTERS_URL", "http://127.0.0.1:9")
    result = CliRunner().invoke(
        cli, ["backfill", "--tenant", str(uuid.uuid4()), "--admin-token", "t"]
    )
    assert result.exit_code == 1, result.output
    assert "backfill failed" in result.output
    assert "is unreachable" in result.output


async def test_a_refund_the_import_skipped_once_does_not_stop_a_later_run(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    history = await _history(system, connector, odoo, over_refund=True)

    first = await _run(system, connector, history.tenant)
    assert (first.sessions.new, first.orders.new, first.refunds.new) == (2, 3, 1)
    assert ("refund", history.over_refund, "exceeds_sold_quantity") in [
        (s.kind, s.odoo_id, s.reason) for s in first.skipped
    ]

    second = await _run(system, connector, history.tenant)
    assert (second.sessions.new, second.orders.new, second.refunds.new) == (0, 0, 0)
    assert (second.sessions.already_present, second.refunds.already_present) == (2, 1)
    assert ("refund", history.over_refund, "session_already_imported") in [
        (s.kind, s.odoo_id, s.reason) for s in second.skipped
    ]


@pytest.mark.parametrize("version", [16, 18])
async def test_odoo_16_and_18_history_reads_and_maps_as_17s_does(version: int) -> None:
    async with running_emulator(version=version) as emulator:
        seed = await emulator.control.seed("demo")
        odoo = Odoo(emulator, seed)
        espresso = seed["pos_product_ids"][0]
        monday = await odoo.session(seed["pos_config_id"], float_cash=50.0)
        await odoo.order(
            monday,
            1,
            "2026-03-02 09:00:00",
            [(espresso, 2, 2.0, True)],
            [(seed["cash_payment_method_id"], 5.0)],
            amount_return=0.4,
        )
        await odoo.close(monday, "2026-03-02", counted=54.6)
        await odoo.client.aclose()
        bot = next(u for u in seed["users"] if u["login"] == "pos-bot")
        async with _odoo_pos() as pos:
            endpoint = OdooEndpoint(emulator.url, "demo", "pos-bot", bot["api_key"])
            history = await HistoryReader(pos, await pos.login(endpoint, None)).read(None)

    register = uuid.uuid4()
    plan = plan_history(history, {seed["pos_config_id"]: Target(register, "EUR")}, {}, set(), set())
    assert (history.version, plan.skipped) == (version, [])
    [session] = plan.sessions
    assert (session.session["opened_at"], session.session["opening_cash"]["amount"]) == (
        "2026-03-02T07:00:00+00:00",
        5000,
    )
    [sale] = session.orders
    assert sale["created_at"] == "2026-03-02T09:00:00+00:00"
    assert [
        (li["quantity"], li["net"]["amount"], li["total"]["amount"]) for li in sale["lines"]
    ] == [("2", 400, 460)]
    assert [(p["method"], p["kind"], p["amount"]["amount"]) for p in sale["payments"]] == [
        ("Cash", "cash", 460)
    ]
