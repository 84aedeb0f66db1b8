"""The backfill: a Pro tenant's closed Odoo history, mapped to the orders service's import
contract (`POST /v1/imports/orders`) and sent in batches of whole sessions.

What the import cannot represent (negative-price or mixed-sign orders, figures that do not add
up) is skipped and counted with a reason, never sent, so no batch is refused for it. Orders the
connector itself pushed to Odoo, and the Odoo sessions it opened for them, stay out: they are
ours already. Registers for pos.configs that have none here are made through the registers
service and linked (`synced`, nothing created in Odoo). Odoo is only read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import structlog

from odoo_connector import repository as repo
from odoo_connector.credentials import SecretBox
from odoo_connector.domain import (
    OdooConcurrencyFailure,
    OdooCredentialsRejected,
    OdooRejectedCallError,
)
from odoo_connector.odoo_client import OdooEndpoint, OdooError, OdooUnavailable
from odoo_connector.odoo_history import (
    HistoryReader,
    OdooHistory,
    OdooLine,
    OdooOrder,
    OdooPayment,
    OdooPaymentMethod,
    OdooSession,
)
from odoo_connector.odoo_pos import OdooPos
from shared.money import currency_exponent, round_minor
from shared.postgres import Db
from shared.retry_topology import WaitForPrerequisite

log = structlog.get_logger(__name__)

# Per batch, well under the import's own caps (100 sessions, 5000 orders, 1000 refunds), so one
# request stays short.
BATCH_SESSIONS = 20
BATCH_ORDERS = 2000
BATCH_REFUNDS = 500
IMPORT_MAX_ORDERS = 5000
IMPORT_MAX_REFUNDS = 1000
# The orders service learns a new register from an event: its import says "retry shortly".
REGISTER_WAIT_DELAYS_S = (0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
PREFIX_CANDIDATES = ("", *"ABCDEFGHJK")
_MONEY_FIELD_LIMIT = 50


class BackfillError(Exception):
    """The run cannot go on; the message says what to fix."""


class Unrepresentable(Exception):  # noqa: N818 - an outcome counted in the summary
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# ---------------------------------------------------------------- pure mapping


def to_minor(value: float, currency: str) -> int:
    """Odoo's float in currency units as integer minor units, rounded half up."""
    return round_minor(Decimal(repr(value)).scaleb(currency_exponent(currency)))


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def decimal_text(value: float, places: int = 3) -> str:
    """A float as the contract's decimal string: at most `places` decimals, no exponent."""
    number = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class OurMethod:
    """A payment method of ours (registers service) mapped to an Odoo one."""

    code: str
    kind: str


def payment_kind(method: OdooPaymentMethod | None) -> str:
    """cash for a cash-counted method (16-18: `is_cash_count`); qr for 18's `qr_code`
    integration; card for a bank-journal method; other otherwise (e.g. pay later)."""
    if method is None:
        return "other"
    if method.is_cash:
        return "cash"
    if method.integration == "qr_code":
        return "qr"
    return "card" if method.type == "bank" else "other"


def product_ref(line: OdooLine, default_code: str | None) -> str:
    return (default_code or f"odoo-{line.product_id}")[:100]


def tax_figures(line: OdooLine, history: OdooHistory, net: int, total: int) -> tuple[str, bool]:
    """The line's tax rate (percent string) and whether its price includes tax.

    Percent taxes (and 'division', also a percentage) add up to the rate; a fixed or group tax
    has no rate of its own, so the rate is what the line's figures show (tax / net).
    """
    taxes = [history.taxes[t] for t in line.tax_ids if t in history.taxes]
    included = any(t.price_include for t in taxes)
    if all(t.amount_type in ("percent", "division") for t in taxes):
        rate = Decimal(0)
        for tax in taxes:
            rate += Decimal(repr(tax.amount))
    elif net > 0:
        rate = Decimal(total - net) * 100 / Decimal(net)
    else:
        rate = Decimal(0)
    if not Decimal(0) <= rate <= Decimal(100):
        raise Unrepresentable(
            "tax_rate_out_of_range",
            f"line {line.id} has a tax rate of {rate}%; the import takes 0 to 100%",
        )
    return decimal_text(float(rate)), included


def _quantity(value: float, line: OdooLine) -> str:
    text = decimal_text(value)
    try:
        exact = Decimal(repr(value)) == Decimal(text)
    except InvalidOperation:
        exact = False
    if not exact:
        raise Unrepresentable(
            "quantity_precision",
            f"line {line.id} has quantity {value}; the import takes at most 3 decimals",
        )
    return text


def _figures(line: OdooLine, currency: str, sign: int) -> tuple[int, int]:
    net = to_minor(sign * line.price_subtotal, currency)
    total = to_minor(sign * line.price_subtotal_incl, currency)
    # A refund line has a negative quantity and Odoo's unit price as sold (positive).
    if net < 0 or total < 0 or line.price_unit < 0:
        raise Unrepresentable(
            "negative_price_line",
            f"line {line.id} ({line.product_name or f'product {line.product_id}'}) has a "
            "negative price "
            "(a reward or discount line); the import takes positive lines only",
        )
    if total < net:
        raise Unrepresentable(
            "negative_tax", f"line {line.id} has a total below its net (a negative tax)"
        )
    return net, total


def order_line(line: OdooLine, history: OdooHistory, currency: str) -> dict[str, Any]:
    net, total = _figures(line, currency, 1)
    product = history.products.get(line.product_id)
    rate, included = tax_figures(line, history, net, total)
    ref = product_ref(line, product.default_code if product else None)
    name = line.product_name or (product.name if product else None) or ref
    return {
        "odoo_line_id": line.id,
        "product_ref": ref,
        "product_name": name[:200],
        "odoo_product_id": line.product_id or None,
        "quantity": _quantity(line.qty, line),
        "unit_price": money(to_minor(line.price_unit, currency), currency),
        "discount_percent": decimal_text(min(max(line.discount, 0.0), 100.0)),
        "tax_rate_percent": rate,
        "prices_include_tax": included,
        "net": money(net, currency),
        "total": money(total, currency),
    }


def grouped_payments(
    payments: Sequence[OdooPayment],
    history: OdooHistory,
    ours: dict[int, OurMethod],
    currency: str,
    sign: int,
) -> list[dict[str, Any]]:
    """One payment per method, net of the change Odoo records as a negative cash payment."""
    sums: dict[int, Decimal] = {}
    for payment in payments:
        sums[payment.method_id] = sums.get(payment.method_id, Decimal(0)) + Decimal(
            repr(payment.amount)
        )
    grouped = []
    for method_id in sorted(sums):
        amount = to_minor(float(sign * sums[method_id]), currency)
        if amount == 0:
            continue
        if amount < 0:
            raise Unrepresentable(
                "negative_payment",
                f"payments by Odoo method {method_id} add up to a negative amount",
            )
        odoo_method = history.methods.get(method_id)
        mine = ours.get(method_id)
        grouped.append(
            {
                "method": mine.code
                if mine
                else (odoo_method.name if odoo_method else f"odoo-{method_id}")[
                    :_MONEY_FIELD_LIMIT
                ],
                "kind": mine.kind if mine else payment_kind(odoo_method),
                "odoo_payment_method_id": method_id,
                "amount": money(amount, currency),
            }
        )
    return grouped


def _settles(order: OdooOrder, lines_total: int, payments: list[dict[str, Any]]) -> None:
    paid = sum(p["amount"]["amount"] for p in payments)
    if paid != lines_total:
        raise Unrepresentable(
            "payments_do_not_add_up",
            f"Odoo order {order.name}: its lines add up to {lines_total} minor units and its "
            f"payments (net of change) to {paid}; the import takes orders whose payments settle "
            "their lines exactly (cash rounding and tax rounded globally are not representable)",
        )
    if len(payments) > 20:
        raise Unrepresentable("too_many_payments", f"Odoo order {order.name} has over 20 payments")


def is_refund(order: OdooOrder) -> bool:
    return bool(order.lines) and all(line.qty < 0 for line in order.lines)


def map_order(
    order: OdooOrder,
    session: OdooSession,
    register_id: UUID,
    history: OdooHistory,
    ours: dict[int, OurMethod],
    currency: str,
) -> dict[str, Any]:
    """A sale as the contract's order; raises Unrepresentable."""
    if not order.lines:
        raise Unrepresentable("no_lines", f"Odoo order {order.name} has no lines")
    if any(line.qty <= 0 for line in order.lines):
        raise Unrepresentable(
            "mixed_sign",
            f"Odoo order {order.name} mixes sold and returned (or zero) quantities; the import "
            "takes a sale or a refund, not both in one order",
        )
    if len(order.lines) > 500:
        raise Unrepresentable("too_many_lines", f"Odoo order {order.name} has over 500 lines")
    lines = [order_line(line, history, currency) for line in order.lines]
    total = sum(line["total"]["amount"] for line in lines)
    payments = grouped_payments(order.payments, history, ours, currency, 1)
    _settles(order, total, payments)
    mapped: dict[str, Any] = {
        "odoo_order_id": order.id,
        "odoo_session_id": session.id,
        "register_id": str(register_id),
        "receipt_number": (order.pos_reference or order.name)[:100],
        "created_at": order.date_order.isoformat(),
        "lines": lines,
        "payments": payments,
        "total": money(total, currency),
    }
    if order.partner_name:
        mapped["customer_ref"] = order.partner_name[:100]
    if order.note:
        mapped["note"] = order.note[:1000]
    return mapped


def map_refunds(
    order: OdooOrder,
    session: OdooSession,
    register_id: UUID,
    history: OdooHistory,
    ours: dict[int, OurMethod],
    currency: str,
    original_of_line: dict[int, int],
) -> list[dict[str, Any]]:
    """An Odoo refund order as the contract's refunds (positive figures), one per original
    order; the refund payments go to the originals in order. Raises Unrepresentable."""
    by_original: dict[int, list[dict[str, Any]]] = {}
    for line in order.lines:
        if line.refunded_line_id is None:
            raise Unrepresentable(
                "refund_without_original",
                f"Odoo order {order.name} returns goods without naming the lines it refunds",
            )
        original = original_of_line.get(line.refunded_line_id)
        if original is None:
            raise Unrepresentable(
                "original_not_found",
                f"Odoo line {line.refunded_line_id} refunded by {order.name} was not found",
            )
        net, total = _figures(line, currency, -1)
        by_original.setdefault(original, []).append(
            {
                "odoo_line_id": line.id,
                "refunded_odoo_line_id": line.refunded_line_id,
                "quantity": _quantity(-line.qty, line),
                "net": money(net, currency),
                "total": money(total, currency),
            }
        )
    payments = grouped_payments(order.payments, history, ours, currency, -1)
    grand_total = sum(line["total"]["amount"] for lines in by_original.values() for line in lines)
    _settles(order, grand_total, payments)
    pool = [[p, p["amount"]["amount"]] for p in payments]
    refunds = []
    for original, lines in sorted(by_original.items()):
        due = sum(line["total"]["amount"] for line in lines)
        share = []
        for entry in pool:
            taken = min(due, entry[1])
            if taken > 0:
                share.append({**entry[0], "amount": money(taken, currency)})
                entry[1] -= taken
                due -= taken
        refunds.append(
            {
                "odoo_order_id": order.id,
                "original_odoo_order_id": original,
                "odoo_session_id": session.id,
                "register_id": str(register_id),
                "created_at": order.date_order.isoformat(),
                "reason": f"Refunded in Odoo ({order.name})"[:500],
                "lines": lines,
                "payments": share,
                "total": money(sum(line["total"]["amount"] for line in lines), currency),
            }
        )
    return refunds


def map_session(
    session: OdooSession, register_id: UUID, currency: str, last_order_at: datetime | None
) -> dict[str, Any]:
    """Odoo records who opened a session, not who closed it: both are the session's user."""
    opening = to_minor(session.opening_cash, currency)
    counted = to_minor(session.counted_cash, currency)
    if opening < 0 or counted < 0:
        raise Unrepresentable(
            "negative_cash", f"Odoo session {session.name} has a negative cash balance"
        )
    closed_at = session.stop_at or max(session.start_at, last_order_at or session.start_at)
    user = (session.user_name or "Odoo")[:200]
    return {
        "odoo_session_id": session.id,
        "register_id": str(register_id),
        "name": session.name[:200],
        "opened_at": session.start_at.isoformat(),
        "closed_at": max(closed_at, session.start_at).isoformat(),
        "opened_by": user,
        "closed_by": user,
        "opening_cash": money(opening, currency),
        "counted_cash": money(counted, currency),
    }


@dataclass(frozen=True)
class Skipped:
    kind: str  # session, order, refund
    odoo_id: int
    reason: str
    detail: str


@dataclass
class SessionPlan:
    """One closed Odoo session with everything of it the import takes."""

    session: dict[str, Any]
    orders: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """Where a pos.config's history goes here."""

    register_id: UUID
    currency: str


@dataclass
class Plan:
    sessions: list[SessionPlan] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    cancelled: int = 0


def plan_history(
    history: OdooHistory,
    targets: dict[int, Target],
    ours: dict[int, OurMethod],
    pushed_orders: set[int],
    connector_sessions: set[int],
) -> Plan:
    """Maps every closed session of the history; what cannot go is skipped with a reason.

    `pushed_orders` / `connector_sessions`: Odoo orders the connector pushed and Odoo sessions
    it opened; both are ours already.
    """
    plan = Plan()
    orders_of: dict[int, list[OdooOrder]] = {}
    for order in sorted(history.orders, key=lambda o: (o.date_order, o.id)):
        orders_of.setdefault(order.session_id, []).append(order)
    original_of_line = dict(history.refunded_line_orders)
    for order in history.orders:
        for line in order.lines:
            original_of_line[line.id] = order.id
    # Sales that do not go: a refund of one of them cannot be linked here either.
    not_sent: dict[int, str] = {}
    for session in history.sessions:
        target = targets.get(session.config_id)
        orders = orders_of.get(session.id, [])
        config = history.configs.get(session.config_id)
        reason = _session_left_out(
            session, target, orders, config, pushed_orders, connector_sessions
        )
        if reason is not None:
            plan.skipped.append(Skipped("session", session.id, *reason))
            for order in orders:
                not_sent[order.id] = reason[0]
                if order.state != "cancel" and order.id not in pushed_orders:
                    plan.skipped.append(
                        Skipped("order", order.id, "session_not_imported", reason[1])
                    )
            continue
        assert target is not None
        try:
            mapped = map_session(
                session,
                target.register_id,
                target.currency,
                orders[-1].date_order if orders else None,
            )
        except Unrepresentable as skip:
            plan.skipped.append(Skipped("session", session.id, skip.reason, skip.detail))
            continue
        session_plan = SessionPlan(mapped)
        for order in orders:
            _plan_order(
                order,
                session,
                target,
                history,
                ours,
                pushed_orders,
                original_of_line,
                not_sent,
                session_plan,
                plan,
            )
        if len(session_plan.orders) > IMPORT_MAX_ORDERS or (
            len(session_plan.refunds) > IMPORT_MAX_REFUNDS
        ):
            plan.skipped.append(
                Skipped(
                    "session",
                    session.id,
                    "session_too_large",
                    f"Odoo session {session.name} holds more orders or refunds than one import "
                    "batch takes",
                )
            )
            continue
        plan.sessions.append(session_plan)
    return plan


def _session_left_out(
    session: OdooSession,
    target: Target | None,
    orders: list[OdooOrder],
    config: Any,
    pushed_orders: set[int],
    connector_sessions: set[int],
) -> tuple[str, str] | None:
    if session.id in connector_sessions:
        return (
            "opened_by_connector",
            f"Odoo session {session.name} was opened by the connector for orders taken here",
        )
    if (
        orders
        and all(o.id in pushed_orders or o.state == "cancel" for o in orders)
        and any(o.id in pushed_orders for o in orders)
    ):
        return (
            "only_orders_pushed_from_here",
            f"Odoo session {session.name} holds only orders taken here and pushed to Odoo",
        )
    if target is None:
        return (
            "no_register",
            f"pos.config {session.config_id} has no register here (see the dry run's plan)",
        )
    odoo_currency = getattr(config, "currency", None)
    if odoo_currency is not None and odoo_currency != target.currency:
        return (
            "currency_mismatch",
            f"pos.config {session.config_id} works in {odoo_currency}, its register here in "
            f"{target.currency}",
        )
    return None


def _plan_order(
    order: OdooOrder,
    session: OdooSession,
    target: Target,
    history: OdooHistory,
    ours: dict[int, OurMethod],
    pushed_orders: set[int],
    original_of_line: dict[int, int],
    not_sent: dict[int, str],
    session_plan: SessionPlan,
    plan: Plan,
) -> None:
    if order.state == "cancel":
        plan.cancelled += 1
        not_sent[order.id] = "cancelled"
        return
    if order.id in pushed_orders:
        not_sent[order.id] = "pushed_from_here"
        plan.skipped.append(
            Skipped(
                "order",
                order.id,
                "pushed_from_here",
                f"Odoo order {order.name} was taken here and pushed to Odoo",
            )
        )
        return
    try:
        if is_refund(order):
            refunds = map_refunds(
                order,
                session,
                target.register_id,
                history,
                ours,
                target.currency,
                original_of_line,
            )
            for refund in refunds:
                original = refund["original_odoo_order_id"]
                if original in not_sent:
                    raise Unrepresentable(
                        "original_not_imported",
                        f"Odoo refund {order.name} gives back Odoo order {original}, which is "
                        f"not imported ({not_sent[original]})",
                    )
            session_plan.refunds += refunds
        else:
            session_plan.orders.append(
                map_order(order, session, target.register_id, history, ours, target.currency)
            )
    except Unrepresentable as skip:
        not_sent[order.id] = skip.reason
        kind = "refund" if any(line.qty < 0 for line in order.lines) else "order"
        plan.skipped.append(Skipped(kind, order.id, skip.reason, skip.detail))


def batches(sessions: Sequence[SessionPlan]) -> list[list[SessionPlan]]:
    """Whole sessions, in the order they opened, a few per import request."""
    out: list[list[SessionPlan]] = []
    current: list[SessionPlan] = []
    orders = refunds = 0
    for plan in sessions:
        if current and (
            len(current) >= BATCH_SESSIONS
            or orders + len(plan.orders) > BATCH_ORDERS
            or refunds + len(plan.refunds) > BATCH_REFUNDS
        ):
            out.append(current)
            current, orders, refunds = [], 0, 0
        current.append(plan)
        orders += len(plan.orders)
        refunds += len(plan.refunds)
    if current:
        out.append(current)
    return out


def batch_body(batch: Sequence[SessionPlan]) -> dict[str, Any]:
    return {
        "sessions": [p.session for p in batch],
        "orders": [o for p in batch for o in p.orders],
        "refunds": [r for p in batch for r in p.refunds],
    }


def receipt_prefixes(pos_config_id: int) -> list[str]:
    """`ODOO<id>`, then with a letter if an admin took that one; 1-12 of A-Z0-9."""
    return [
        f"ODOO{pos_config_id}{letter}"
        for letter in PREFIX_CANDIDATES
        if len(f"ODOO{pos_config_id}{letter}") <= 12
    ]


# ---------------------------------------------------------------- the connector's own records


async def pushed_from_here(
    db: Db, tenant_id: UUID, orders: Sequence[OdooOrder]
) -> tuple[set[int], set[int]]:
    """Odoo orders the connector pushed for the tenant, and the Odoo sessions it opened.

    `synced_orders` also remembers imported orders' Odoo ids (for till refunds of them), so an
    order counts as pushed only if its pos_reference is one the connector sent, too.
    """
    synced = await db.fetch(
        "SELECT odoo_order_id FROM synced_orders WHERE tenant_id = $1", tenant_id
    )
    sent = await db.fetch(
        "SELECT reference FROM push_attempts WHERE reference = ANY($1::text[])",
        sorted({o.pos_reference for o in orders if o.pos_reference}),
    )
    sessions = await db.fetch(
        """SELECT s.odoo_session_id FROM odoo_pos_sessions s
           JOIN registers r ON r.register_id = s.register_id WHERE r.tenant_id = $1""",
        tenant_id,
    )
    synced_ids = {r["odoo_order_id"] for r in synced}
    references = {r["reference"] for r in sent}
    pushed = {o.id for o in orders if o.id in synced_ids and o.pos_reference in references}
    return pushed, {r["odoo_session_id"] for r in sessions}


# ---------------------------------------------------------------- the APIs here


@dataclass
class Counts:
    new: int = 0
    already_present: int = 0


@dataclass
class BackfillReport:
    tenant_id: UUID
    odoo_version: int
    dry_run: bool
    sessions: Counts = field(default_factory=Counts)
    orders: Counts = field(default_factory=Counts)
    refunds: Counts = field(default_factory=Counts)
    cancelled: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    registers_created: list[str] = field(default_factory=list)
    # pos.config id -> the register made for it and linked (synced) by this run.
    registers_linked: dict[int, UUID] = field(default_factory=dict)
    orders_in_open_sessions: int = 0
    batches: list[dict[str, Any]] = field(default_factory=list)

    def skipped_count(self, kind: str) -> int:
        return sum(1 for s in self.skipped if s.kind == kind)


class ServicesApi:
    """The registers and orders services as the tenant's admin sees them."""

    def __init__(self, registers: httpx.AsyncClient, orders: httpx.AsyncClient, token: str):
        self._registers = registers
        self._orders = orders
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _call(
        self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        try:
            response = await client.request(method, path, headers=self._headers, **kwargs)
        except httpx.TransportError as error:
            raise BackfillError(f"{client.base_url} is unreachable ({error!r})") from None
        if response.status_code == 401:
            raise BackfillError(
                f"{client.base_url} refused the admin token (expired, revoked or not one of "
                "this platform's)"
            )
        if response.status_code == 403:
            raise BackfillError(f"{client.base_url} refused the token: {_detail(response)}")
        return response

    async def _ok(self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._call(client, method, path, **kwargs)
        if response.status_code >= 300:
            raise BackfillError(
                f"{method} {path} answered {response.status_code}: {_detail(response)}"
            )
        return response.json()

    async def _all(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 250}
            if cursor:
                params["cursor"] = cursor
            page = await self._ok(self._registers, "GET", path, params=params)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    async def tenant(self, tenant_id: UUID) -> dict[str, Any]:
        response = await self._call(self._registers, "GET", f"/v1/tenants/{tenant_id}")
        if response.status_code == 404:
            raise BackfillError(f"the admin token is not a token of tenant {tenant_id}")
        if response.status_code != 200:
            raise BackfillError(f"reading tenant {tenant_id}: {_detail(response)}")
        tenant: dict[str, Any] = response.json()
        return tenant

    async def shops(self) -> list[dict[str, Any]]:
        return await self._all("/v1/shops")

    async def registers(self) -> list[dict[str, Any]]:
        return await self._all("/v1/registers")

    async def payment_methods(self) -> list[dict[str, Any]]:
        return await self._all("/v1/payment-methods")

    async def create_register(
        self, shop_id: str, name: str, prefixes: list[str], pos_config_id: int
    ) -> dict[str, Any]:
        """A register linked to its pos.config from birth, so no create is ever queued for it."""
        for prefix in prefixes:
            response = await self._call(
                self._registers,
                "POST",
                f"/v1/shops/{shop_id}/registers",
                json={"name": name, "receipt_prefix": prefix, "odoo_pos_config_id": pos_config_id},
            )
            if response.status_code == 409 and "receipt_prefix" in response.text:
                continue
            if response.status_code != 201:
                raise BackfillError(f"creating register {name!r}: {_detail(response)}")
            created: dict[str, Any] = response.json()
            return created
        raise BackfillError(f"the receipt prefixes {', '.join(prefixes)} are all taken")

    async def link_register(self, register_id: str, pos_config_id: int) -> dict[str, Any]:
        linked: dict[str, Any] = await self._ok(
            self._registers,
            "PATCH",
            f"/v1/registers/{register_id}",
            json={"odoo_pos_config_id": pos_config_id},
        )
        return linked

    async def import_batch(
        self, body: dict[str, Any], sleep: Callable[[float], Any] = asyncio.sleep
    ) -> dict[str, Any]:
        """Sends one batch, waiting while the orders service does not know a new register."""
        for delay in (*REGISTER_WAIT_DELAYS_S, None):
            response = await self._call(self._orders, "POST", "/v1/imports/orders", json=body)
            if response.status_code == 200:
                summary: dict[str, Any] = response.json()
                return summary
            if response.status_code == 422 and "retry shortly" in response.text and delay:
                await sleep(delay)
                continue
            raise BackfillError(
                f"the orders service refused a batch ({response.status_code}): {_detail(response)}"
            )
        raise AssertionError("unreachable")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("detail") if isinstance(body, dict) else body)[:500]


@dataclass(frozen=True)
class BackfillOptions:
    tenant_id: UUID
    since: date | None = None
    dry_run: bool = False
    shop_id: UUID | None = None


Progress = Callable[[int, int], None]


async def ensure_registers(
    api: ServicesApi,
    history: OdooHistory,
    options: BackfillOptions,
    report: BackfillReport,
) -> dict[int, Target]:
    """A register per pos.config with history to import; missing ones made and linked."""
    shops = {s["id"]: s for s in await api.shops()}
    registers = await api.registers()
    targets: dict[int, Target] = {}
    for register in registers:
        config_id = register.get("odoo_pos_config_id")
        shop = shops.get(register["shop_id"])
        if config_id and shop and config_id not in targets:
            targets[config_id] = Target(UUID(register["id"]), shop["currency"])
    wanted = sorted({s.config_id for s in history.sessions} - set(targets))
    if not wanted:
        return targets
    shop = _shop_for_new_registers(list(shops.values()), options.shop_id)
    for config_id in wanted:
        config = history.configs.get(config_id)
        name = (config.name if config else f"Odoo register {config_id}")[:120]
        prefixes = receipt_prefixes(config_id)
        report.registers_created.append(f"{name} ({prefixes[0]}) in shop {shop['name']}")
        if options.dry_run:
            # Mapped as if it existed, so the dry run shows what its history would be.
            targets[config_id] = Target(UUID(int=config_id), shop["currency"])
            continue
        # An unlinked `ODOO<id>` (made by hand, or by an older run that linked in a second step)
        # is the one to link.
        leftover = next(
            (
                r
                for r in registers
                if r["receipt_prefix"] == prefixes[0] and not r.get("odoo_pos_config_id")
            ),
            None,
        )
        linked = (
            await api.link_register(leftover["id"], config_id)
            if leftover
            else await api.create_register(shop["id"], name, prefixes, config_id)
        )
        log.info("backfill_register_linked", register_id=linked["id"], pos_config_id=config_id)
        if linked["sync_state"] != "synced" or linked["odoo_pos_config_id"] != config_id:
            raise BackfillError(
                f"register {linked['id']} was not linked to pos.config {config_id}: it is "
                f"{linked['sync_state']} with pos.config {linked['odoo_pos_config_id']}"
            )
        report.registers_linked[config_id] = UUID(linked["id"])
        targets[config_id] = Target(UUID(linked["id"]), shops[linked["shop_id"]]["currency"])
    return targets


def _shop_for_new_registers(shops: list[dict[str, Any]], shop_id: UUID | None) -> dict[str, Any]:
    if shop_id is not None:
        for shop in shops:
            if shop["id"] == str(shop_id):
                return shop
        raise BackfillError(f"the tenant has no shop {shop_id}")
    if len(shops) == 1:
        return shops[0]
    if not shops:
        raise BackfillError("the tenant has no shop to put the Odoo registers in; create one")
    names = ", ".join(f"{s['name']} ({s['id']})" for s in shops)
    raise BackfillError(
        f"some pos.configs have no register here and the tenant has several shops ({names}); "
        "name the one for them with --shop"
    )


def our_methods(methods: list[dict[str, Any]]) -> dict[int, OurMethod]:
    """Odoo method id -> our method; of several mapped to one Odoo method, an active one first,
    then by code, so the choice is stable between runs."""
    mapped: dict[int, OurMethod] = {}
    for method in sorted(methods, key=lambda m: (not m["active"], m["code"])):
        odoo_id = method.get("odoo_payment_method_id")
        if odoo_id and odoo_id not in mapped:
            mapped[odoo_id] = OurMethod(method["code"], method["kind"])
    return mapped


async def run_backfill(
    history: OdooHistory,
    api: ServicesApi,
    options: BackfillOptions,
    pushed_orders: set[int],
    connector_sessions: set[int],
    progress: Progress | None = None,
) -> BackfillReport:
    """Maps the history read from Odoo and hands it to the orders service batch by batch."""
    report = BackfillReport(options.tenant_id, history.version, options.dry_run)
    report.orders_in_open_sessions = history.orders_in_open_sessions
    targets = await ensure_registers(api, history, options, report)
    ours = our_methods(await api.payment_methods())
    plan = plan_history(history, targets, ours, pushed_orders, connector_sessions)
    report.cancelled = plan.cancelled
    report.skipped += plan.skipped
    planned = batches(plan.sessions)
    done = 0
    for batch in planned:
        body = batch_body(batch)
        described = {
            "sessions": [s.session["name"] for s in batch],
            "orders": len(body["orders"]),
            "refunds": len(body["refunds"]),
        }
        report.batches.append(described)
        if options.dry_run:
            report.sessions.new += len(body["sessions"])
            report.orders.new += len(body["orders"])
            report.refunds.new += len(body["refunds"])
        else:
            summary = await api.import_batch(body)
            _add(report, summary)
        done += len(batch)
        if progress is not None:
            progress(done, len(plan.sessions))
    return report


def _add(report: BackfillReport, summary: dict[str, Any]) -> None:
    for name in ("sessions", "orders", "refunds"):
        counts: Counts = getattr(report, name)
        counts.new += summary[name]["new"]
        counts.already_present += summary[name]["already_present"]
    for item in summary["skipped_orders"]:
        report.skipped.append(
            Skipped("order", item["odoo_order_id"], item["reason"], item["detail"])
        )
    for item in summary["skipped_refunds"]:
        report.skipped.append(
            Skipped("refund", item["odoo_order_id"], item["reason"], item["detail"])
        )


async def backfill(
    pool: asyncpg.Pool,
    pos: OdooPos,
    secrets: SecretBox,
    api: ServicesApi,
    options: BackfillOptions,
    progress: Progress | None = None,
) -> BackfillReport:
    """One run for one tenant: checks the token, reads its Odoo, sends what is not here yet."""
    tenant_id = options.tenant_id
    tenant = await api.tenant(tenant_id)
    if tenant["tier"] != "pro":
        raise BackfillError(f"tenant {tenant_id} is on {tenant['tier']}, not Pro: no Odoo history")
    async with pool.acquire() as conn:
        settings = await repo.settings(conn, tenant_id)
    if settings is None:
        raise BackfillError(
            f"tenant {tenant_id} has no Odoo settings; PUT /v1/tenants/{tenant_id}/odoo first"
        )
    endpoint = OdooEndpoint(
        settings.url, settings.database, settings.login, secrets.open(settings.secret_encrypted)
    )
    try:
        odoo = await pos.login(endpoint, settings.odoo_version)
        history = await HistoryReader(pos, odoo).read(options.since)
    except (OdooUnavailable, WaitForPrerequisite) as error:
        raise BackfillError(f"Odoo at {settings.url} is unreachable: {error}") from None
    except OdooCredentialsRejected as error:
        raise BackfillError(f"{error}; store the tenant's Odoo settings again") from None
    except (OdooRejectedCallError, OdooConcurrencyFailure, OdooError) as error:
        raise BackfillError(f"Odoo at {settings.url} refused a read: {error}") from None
    async with pool.acquire() as conn:
        pushed_orders, connector_sessions = await pushed_from_here(conn, tenant_id, history.orders)
    log.info(
        "backfill_read",
        tenant_id=str(tenant_id),
        sessions=len(history.sessions),
        orders=len(history.orders),
    )
    return await run_backfill(history, api, options, pushed_orders, connector_sessions, progress)
