"""After a fault: did everything the till accepted reach Odoo once, linked and closed, with nothing
given up on? Read through the orders API, Odoo's own JSON-RPC, the connector's dead letters and
the broker's dead-letter queues."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from tests.faults.odoo_books import Books, OdooReader
from tests.faults.stack import Stack
from tests.faults.tablet import FaultWindow, Ledger
from tests.faults.tenant import ProTenant, bearer

# A revoked token is refused by every service "within a few seconds": counted from the later of
# the revocation and the fault's end, since no event travels while the broker is away.
REVOCATION_WITHIN_S = 5.0
SHOWN = 5


@dataclass
class Outcome:
    fault: str
    odoo_version: int = 0
    injected: str = ""
    accepted: int = 0
    unavailable: int = 0
    unreachable: int = 0
    in_odoo: int = 0
    duplicates: int = 0
    missing: int = 0
    refunds: int = 0
    refunds_linked: int = 0
    sessions: int = 0
    sessions_closed: int = 0
    reports: int = 0
    reports_right: int = 0
    dead_letters: int = 0
    revocation: str = "-"
    drain_s: float | None = None
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    # The tills' record so far, so that a phase cut short by its time-out still shows it.
    ledger: Ledger = field(default_factory=Ledger)

    @property
    def passed(self) -> bool:
        return not self.failures

    def fail(self, reason: str) -> None:
        self.failures.append(reason)


def _sample(items: list[str]) -> str:
    shown = "; ".join(items[:SHOWN])
    return shown + (f"; … and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


class OrdersApi:
    """The orders API as the tenant's manager reads it."""

    def __init__(self, stack: Stack, client: httpx.AsyncClient, tenant: ProTenant) -> None:
        self.base = stack.url("orders")
        self.client = client
        self.headers = bearer(tenant.manager_token)

    async def get(self, path: str) -> Any:
        response = await self.client.get(self.base + path, headers=self.headers)
        response.raise_for_status()
        return response.json()

    async def orders_of(self, session_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = await self.get(f"/v1/orders?session_id={session_id}&limit=250{cursor}")
            found.extend(page["items"])
            if not page["next_cursor"]:
                return found
            cursor = f"&cursor={page['next_cursor']}"

    async def state(self, ledger: Ledger) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        """Every accepted order by id, and every till session, as the API has them now."""
        orders: dict[str, dict[str, Any]] = {}
        for session_id in ledger.sessions:
            for order in await self.orders_of(session_id):
                orders[str(order["id"])] = order
        sessions = [await self.get(f"/v1/sessions/{s}") for s in ledger.sessions]
        return orders, sessions


async def wait_for_drain(api: OrdersApi, ledger: Ledger, within_s: float) -> float | None:
    """When (monotonic) every accepted order and every till session was synced, or None."""
    started = time.monotonic()
    accepted = {sale.order_id for sale in ledger.sales}
    while time.monotonic() - started < within_s:
        try:
            orders, sessions = await api.state(ledger)
        except httpx.HTTPError:
            await asyncio.sleep(0.5)
            continue
        synced = {i for i, order in orders.items() if order["sync_state"] == "synced"}
        if accepted <= synced and all(s["sync_state"] == "synced" for s in sessions):
            return time.monotonic()
        await asyncio.sleep(0.5)
    return None


@dataclass(frozen=True)
class Revocation:
    cell: str
    failure: str | None = None


async def revoke_during_fault(
    stack: Stack,
    client: httpx.AsyncClient,
    tenant: ProTenant,
    token_id: str,
    token: str,
    window: FaultWindow,
) -> Revocation:
    """Revokes a spare tablet's token a second into the fault and waits for the orders service
    to refuse it."""
    probe = f"{stack.url('orders')}/v1/orders?limit=1"
    accepted = (await client.get(probe, headers=bearer(token))).status_code
    if accepted != 200:
        return Revocation("-", f"the spare tablet's token was answered {accepted} before")
    await window.injected.wait()
    await asyncio.sleep(1)
    revoke_url = f"{stack.url('registers')}/v1/tokens/{token_id}"
    while True:
        try:
            response = await client.delete(revoke_url, headers=bearer(tenant.admin_token))
            if response.status_code in (204, 404):
                break
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.3)
    revoked_at = time.monotonic()
    while True:
        try:
            answer = (await client.get(probe, headers=bearer(token))).status_code
        except httpx.TransportError:
            answer = 0
        now = time.monotonic()
        if answer == 401:
            cell = f"401 in {now - revoked_at:.1f}s"
            if window.recovered_at is None:
                return Revocation(cell + ", during")
            late = now - max(revoked_at, window.recovered_at)
            if window.recovered_at > revoked_at:
                cell += f", {late:.1f}s after"
            if late <= REVOCATION_WITHIN_S:
                return Revocation(cell)
            return Revocation(
                cell,
                f"refused {now - revoked_at:.1f}s after its revocation, {late:.1f}s after the "
                f"fault's end (allowed {REVOCATION_WITHIN_S:.0f}s)",
            )
        if (
            window.recovered_at is not None
            and now - max(revoked_at, window.recovered_at) > 3 * REVOCATION_WITHIN_S
        ):
            return Revocation(
                f"{answer} after {now - revoked_at:.0f}s",
                f"still answered {answer} {now - revoked_at:.0f}s after its revocation",
            )
        await asyncio.sleep(0.25)


async def verify(
    stack: Stack,
    client: httpx.AsyncClient,
    tenant: ProTenant,
    ledger: Ledger,
    dlq_before: dict[str, int],
    outcome: Outcome,
    database_outage: bool,
) -> None:
    outcome.accepted = len(ledger.sales)
    outcome.unavailable = ledger.unavailable
    outcome.unreachable = ledger.unreachable
    _check_answers(ledger, outcome, database_outage)
    api = OrdersApi(stack, client, tenant)
    orders, sessions = await api.state(ledger)
    reader = OdooReader(
        stack.odoo_url, tenant.odoo_database, "admin", tenant.odoo_api_key("admin"), client
    )
    books = await reader.books()
    by_reference = books.orders_by_reference()
    _check_orders(ledger, orders, by_reference, outcome)
    _check_refunds(ledger, books, by_reference, outcome)
    _check_sessions(ledger, sessions, books, by_reference, outcome)
    closed = [s for s in sessions if str(s["id"]) in ledger.sessions_closed]
    await _check_reports(stack, client, tenant, closed, outcome)
    await _check_dead_letters(stack, tenant, dlq_before, outcome)


def _check_answers(ledger: Ledger, outcome: Outcome, database_outage: bool) -> None:
    if ledger.server_errors:
        outcome.fail(
            f"{len(ledger.server_errors)} answers 5xx other than 503: "
            + _sample(ledger.server_errors)
        )
    if ledger.unavailable_without_retry_after:
        outcome.fail(f"{ledger.unavailable_without_retry_after} 503s without Retry-After")
    if ledger.unavailable and not database_outage:
        outcome.fail(f"{ledger.unavailable} 503s to the till while the database was up")
    if database_outage and not ledger.unavailable:
        outcome.fail("no 503 seen while the database was down: the outage did not bite")
    if ledger.refused:
        outcome.fail(f"the till was refused: {_sample(ledger.refused)}")


def _check_orders(
    ledger: Ledger,
    orders: dict[str, dict[str, Any]],
    by_reference: dict[str, list[dict[str, Any]]],
    outcome: Outcome,
) -> None:
    ours = {f"Order {sale.receipt_number}" for sale in ledger.sales}
    ours |= {f"Refund {refund.refund_id}" for refund in ledger.refunds}
    missing, duplicated, unsynced, mismatched = [], [], [], []
    for sale in ledger.sales:
        reference = f"Order {sale.receipt_number}"
        found = by_reference.get(reference, [])
        if not found:
            missing.append(reference)
        elif len(found) > 1:
            duplicated.append(f"{reference} ×{len(found)}")
        order = orders.get(sale.order_id)
        if order is None or order["sync_state"] != "synced":
            state = "absent from the API" if order is None else order["sync_state"]
            error = f" ({order['sync_error']})" if order and order["sync_error"] else ""
            unsynced.append(f"{sale.receipt_number} {state}{error}")
        elif found and order["odoo_order_id"] not in {o["id"] for o in found}:
            mismatched.append(
                f"{sale.receipt_number} stamped {order['odoo_order_id']}, "
                f"Odoo has {[o['id'] for o in found]}"
            )
    strangers = [ref for ref in by_reference if ref not in ours]
    outcome.in_odoo = sum(
        1 for sale in ledger.sales if f"Order {sale.receipt_number}" in by_reference
    )
    outcome.missing = len(missing)
    outcome.duplicates = sum(len(by_reference[r.split(" ×")[0]]) - 1 for r in duplicated) + len(
        strangers
    )
    if missing:
        outcome.fail(f"{len(missing)} accepted orders not in Odoo: {_sample(missing)}")
    if duplicated:
        outcome.fail(f"{len(duplicated)} orders in Odoo more than once: {_sample(duplicated)}")
    if strangers:
        outcome.fail(f"{len(strangers)} orders in Odoo nobody accepted: {_sample(strangers)}")
    if unsynced:
        outcome.fail(f"{len(unsynced)} orders not synced in the orders API: {_sample(unsynced)}")
    if mismatched:
        outcome.fail(
            f"{len(mismatched)} orders stamped with another Odoo id: {_sample(mismatched)}"
        )


def _check_refunds(
    ledger: Ledger,
    books: Books,
    by_reference: dict[str, list[dict[str, Any]]],
    outcome: Outcome,
) -> None:
    line_order = books.line_order()
    problems = []
    linked = 0
    for refund in ledger.refunds:
        found = by_reference.get(f"Refund {refund.refund_id}", [])
        originals = by_reference.get(f"Order {refund.receipt_number}", [])
        if len(found) != 1 or len(originals) != 1:
            problems.append(
                f"refund {refund.refund_id} of {refund.receipt_number}: {len(found)} in Odoo, "
                f"original {len(originals)} times"
            )
            continue
        lines = books.lines_of(found[0]["id"])
        targets = {line_order.get(books.refunded_line(line) or 0) for line in lines}
        quantity = -sum(float(line["qty"]) for line in lines)
        if targets != {originals[0]["id"]} or abs(quantity - refund.quantity) > 1e-6:
            problems.append(
                f"refund {refund.refund_id} of {refund.receipt_number}: lines refund orders "
                f"{sorted(t or 0 for t in targets)} (want {originals[0]['id']}), "
                f"quantity {quantity} (want {refund.quantity})"
            )
            continue
        linked += 1
    outcome.refunds = len(ledger.refunds)
    outcome.refunds_linked = linked
    if problems:
        outcome.fail(f"{len(problems)} refunds not linked to their order: {_sample(problems)}")


def _check_sessions(
    ledger: Ledger,
    sessions: list[dict[str, Any]],
    books: Books,
    by_reference: dict[str, list[dict[str, Any]]],
    outcome: Outcome,
) -> None:
    """Each closed till session: synced, its Odoo session closed, and the till's cash difference
    booked once over the Odoo sessions its orders went to."""
    odoo_states = books.session_states()
    odoo_sessions_of: dict[str, set[int]] = {}
    # Odoo session -> till session -> receipts: one Odoo session never holds two till sessions.
    tills_in: dict[int, dict[str, list[str]]] = {}
    for sale in ledger.sales:
        for order in by_reference.get(f"Order {sale.receipt_number}", []):
            if order["session_id"]:
                odoo_id = int(order["session_id"][0])
                odoo_sessions_of.setdefault(sale.session_id, set()).add(odoo_id)
                tills = tills_in.setdefault(odoo_id, {})
                tills.setdefault(sale.session_id, []).append(sale.receipt_number)
    mixed = [
        f"Odoo session {odoo_id} holds "
        + " and ".join(
            f"{receipts[0]}..{receipts[-1]} ({len(receipts)}) of till session {till}"
            for till, receipts in tills.items()
        )
        for odoo_id, tills in tills_in.items()
        if len(tills) > 1
    ]
    problems = []
    closed = 0
    for session in sessions:
        if str(session["id"]) not in ledger.sessions_closed:
            continue
        odoo_id = session["odoo_session_id"]
        odoo_state = odoo_states.get(odoo_id) if odoo_id else None
        went_to = odoo_sessions_of.get(str(session["id"]), set()) | (
            {odoo_id} if odoo_id else set()
        )
        booked = books.cash_difference_cents(went_to)
        counted = (session["cash_difference"] or {}).get("amount")
        if session["sync_state"] != "synced" or odoo_state != "closed":
            problems.append(
                f"till session {session['id']}: {session['sync_state']}"
                + (f" ({session['sync_error']})" if session["sync_error"] else "")
                + f", its Odoo session {odoo_id} {odoo_state}"
                + f" (its orders went to Odoo sessions {sorted(went_to)})"
            )
        elif booked != counted:
            problems.append(
                f"till session {session['id']}: cash difference {counted} at the till, "
                f"{booked} booked over Odoo sessions {sorted(went_to)}"
            )
        else:
            closed += 1
    left_open = [f"{s['name']} {s['state']}" for s in books.sessions if s["state"] != "closed"]
    outcome.sessions = len(ledger.sessions_closed)
    outcome.sessions_closed = closed
    if mixed:
        outcome.fail(f"orders of two till sessions in one Odoo session: {_sample(mixed)}")
    if problems:
        outcome.fail(f"{len(problems)} till sessions not closed as counted: {_sample(problems)}")
    if left_open:
        outcome.fail(f"Odoo sessions left unclosed: {_sample(left_open)}")


def _report_mismatch(session: dict[str, Any], report: dict[str, Any]) -> str | None:
    """How the Z report differs from the till session in the orders API, or None."""
    totals = session["totals"]
    sales = report["sales"]
    wanted = {
        "type": ("Z", report["report_type"]),
        "orders": (totals["order_count"], sales["order_count"]),
        "refunds": (totals["refund_count"], sales["refund_count"]),
        "net total": (totals["net_total"]["amount"], sales["net_total"]),
        "over/short": (
            (session["cash_difference"] or {}).get("amount"),
            report["cash_drawer"]["over_short"],
        ),
        "synced": (totals["order_count"], report["integration"]["synced"]),
    }
    wrong = [f"{k} {got} (orders API {want})" for k, (want, got) in wanted.items() if want != got]
    return f"Z report of {session['id']}: " + ", ".join(wrong) if wrong else None


async def _check_reports(
    stack: Stack,
    client: httpx.AsyncClient,
    tenant: ProTenant,
    sessions: list[dict[str, Any]],
    outcome: Outcome,
    within_s: float = 15,
) -> None:
    """Reporting's Z report of each closed till session says what the orders service says: every
    event counted once, through the fault. Read models follow the events, so give them time."""
    base = stack.url("reporting")
    started = time.monotonic()
    while True:
        problems = []
        for session in sessions:
            response = await client.get(
                f"{base}/v1/reports/sessions/{session['id']}",
                headers=bearer(tenant.manager_token),
            )
            if response.status_code != 200:
                problems.append(f"Z report of {session['id']}: {response.status_code}")
            elif (mismatch := _report_mismatch(session, response.json())) is not None:
                problems.append(mismatch)
        if not problems or time.monotonic() - started > within_s:
            break
        await asyncio.sleep(0.5)
    outcome.reports = len(sessions)
    outcome.reports_right = len(sessions) - len(problems)
    if problems:
        outcome.fail(f"{len(problems)} Z reports disagree with the orders API: {_sample(problems)}")


async def _check_dead_letters(
    stack: Stack, tenant: ProTenant, dlq_before: dict[str, int], outcome: Outcome
) -> None:
    conn = await asyncpg.connect(stack.database_url)
    try:
        rows = await conn.fetch(
            """SELECT event_type, error_class, reason FROM connector.dead_letter_records
               WHERE tenant_id = $1 ORDER BY seq""",
            tenant.tenant_id,
        )
    finally:
        await conn.close()
    queued = await stack.blocking(stack.dead_letter_queues)
    grown = {q: n - dlq_before.get(q, 0) for q, n in queued.items() if n > dlq_before.get(q, 0)}
    outcome.dead_letters = max(len(rows), sum(grown.values()))
    if rows:
        outcome.fail(
            f"{len(rows)} dead letters in the connector: "
            + _sample([f"{r['event_type']} {r['error_class']}: {r['reason']}" for r in rows])
        )
    if grown:
        outcome.fail(f"dead-letter queues grew: {grown}")
