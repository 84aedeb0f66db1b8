"""Which closed Odoo sessions, orders and refunds of a history go home, in which import batches,
and why the others stay out. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from odoo_connector.backfill.mapping import (
    OurMethod,
    Unrepresentable,
    is_refund,
    map_order,
    map_refunds,
    map_session,
)
from odoo_connector.odoo_history import OdooHistory, OdooOrder, OdooSession

if TYPE_CHECKING:
    from odoo_connector.backfill.services_api import PaymentMethodSeen
    from odoo_connector.repository import ConnectorTraces

# Per batch, well under the import's own caps (100 sessions, 5000 orders, 1000 refunds), so one
# request stays short.
BATCH_SESSIONS = 20
BATCH_ORDERS = 2000
BATCH_REFUNDS = 500
IMPORT_MAX_ORDERS = 5000
IMPORT_MAX_REFUNDS = 1000
PREFIX_CANDIDATES = ("", *"ABCDEFGHJK")


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


def our_methods(methods: Sequence[PaymentMethodSeen]) -> dict[int, OurMethod]:
    """Odoo method id -> our method; of several mapped to one Odoo method, an active one first,
    then by code, so the choice is stable between runs."""
    mapped: dict[int, OurMethod] = {}
    for method in sorted(methods, key=lambda m: (not m.active, m.code)):
        odoo_id = method.odoo_payment_method_id
        if odoo_id and odoo_id not in mapped:
            mapped[odoo_id] = OurMethod(method.code, method.kind)
    return mapped


def orders_pushed_from_here(orders: Sequence[OdooOrder], traces: ConnectorTraces) -> set[int]:
    """The Odoo orders the connector pushed. Its records also keep imported orders' Odoo ids
    (for till refunds of them), so an order counts as pushed only if the connector sent its
    pos_reference, too."""
    return {
        o.id
        for o in orders
        if o.id in traces.synced_odoo_order_ids and o.pos_reference in traces.sent_references
    }
