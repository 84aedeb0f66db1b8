"""A register's tablet as the orders API sees one: it sells, refunds now and then, closes its till
session halfway and at the end, and keeps what it could not send to send again, with the same
order id, as a tablet does when the back-end is away."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.faults.tenant import OPENING_FLOAT, Till, bearer

# A tablet waits at most this long before sending again, even when told to wait longer
# (Retry-After is 5 s): enough to see every second of an outage, short enough to keep runs lean.
RETRY_CAP_S = 1.0
UNREACHABLE_PAUSE_S = 0.3
# Code, name, unit price, tax rate, price includes tax. Excluded prices are multiples of 5 cents,
# so that 20 % on top stays whole cents and the till's figures need no rounding to agree.
CATALOG = (
    ("FLAT", "Flat white", 350, "10", True),
    ("CROI", "Croissant", 220, "10", True),
    ("TEA", "Tea", 280, "10", True),
    ("WINE", "Glass of wine", 500, "20", False),
    ("BEER", "Beer", 450, "20", False),
)
REFUND_EVERY = 6


@dataclass(frozen=True)
class Sale:
    order_id: str
    receipt_number: str
    session_id: str


@dataclass(frozen=True)
class Refund:
    refund_id: str
    order_id: str
    receipt_number: str
    quantity: float


@dataclass
class Ledger:
    """What the tablets saw: what the back-end accepted, and every answer that was not that."""

    sales: list[Sale] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    sessions_closed: list[str] = field(default_factory=list)
    unavailable: int = 0
    unavailable_without_retry_after: int = 0
    unreachable: int = 0
    server_errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    last_action_at: float = 0.0
    # Set once this many orders are accepted: the fault goes in then, mid-stream.
    inject_after: int = 0
    due: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self) -> dict[str, Any]:
        """Everything but the event, for the evidence a failed phase leaves."""
        return {
            "sales": [dataclasses.asdict(sale) for sale in self.sales],
            "refunds": [dataclasses.asdict(refund) for refund in self.refunds],
            "sessions": self.sessions,
            "sessions_closed": self.sessions_closed,
            "unavailable": self.unavailable,
            "unavailable_without_retry_after": self.unavailable_without_retry_after,
            "unreachable": self.unreachable,
            "server_errors": self.server_errors,
            "refused": self.refused,
        }


@dataclass
class FaultWindow:
    """When the fault began and when it was over; the tablets hold their last orders until the
    end, so that traffic goes on after recovery too."""

    injected: asyncio.Event = field(default_factory=asyncio.Event)
    recovered: asyncio.Event = field(default_factory=asyncio.Event)
    injected_at: float | None = None
    recovered_at: float | None = None

    def begin(self) -> None:
        self.injected_at = time.monotonic()
        self.injected.set()

    def end(self) -> None:
        self.recovered_at = time.monotonic()
        self.recovered.set()


@dataclass(frozen=True)
class TabletPlan:
    orders: int
    pace_s: float

    @property
    def close_at(self) -> int:
        return self.orders // 2

    @property
    def hold_at(self) -> int:
        """The first order held back until the fault is over."""
        return (2 * self.orders) // 3


class TabletGaveUpError(RuntimeError):
    pass


class Tablet:
    def __init__(
        self,
        client: httpx.AsyncClient,
        orders_url: str,
        till: Till,
        product_ids: list[int],
        ledger: Ledger,
        window: FaultWindow,
        seed: int,
        short_by: int = 0,
    ) -> None:
        self.client = client
        self.orders_url = orders_url
        self.till = till
        self.product_ids = product_ids
        self.ledger = ledger
        self.window = window
        self.random = random.Random(seed)
        # Cash the cashier counts short at each close, booked in Odoo as a loss.
        self.short_by = short_by

    async def send(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Sends until the back-end answers something other than unavailable."""
        while True:
            try:
                response = await self.client.request(
                    method,
                    self.orders_url + path,
                    json=body,
                    headers=bearer(self.till.device_token),
                )
            except httpx.TransportError:
                self.ledger.unreachable += 1
                await asyncio.sleep(UNREACHABLE_PAUSE_S)
                continue
            if response.status_code == 503:
                self.ledger.unavailable += 1
                retry_after = response.headers.get("retry-after")
                if retry_after is None:
                    self.ledger.unavailable_without_retry_after += 1
                await asyncio.sleep(min(float(retry_after or RETRY_CAP_S), RETRY_CAP_S))
                continue
            if response.status_code >= 500:
                self.ledger.server_errors.append(
                    f"{method} {path}: {response.status_code} {response.text[:300]}"
                )
                await asyncio.sleep(UNREACHABLE_PAUSE_S)
                continue
            self.ledger.last_action_at = time.monotonic()
            return response

    def _refuse(self, what: str, response: httpx.Response) -> TabletGaveUpError:
        reason = f"{self.till.name}: {what} answered {response.status_code}: {response.text[:300]}"
        self.ledger.refused.append(reason)
        return TabletGaveUpError(reason)

    async def open_session(self) -> str:
        body = {
            "register_id": self.till.register_id,
            "opening_cash": {"amount": OPENING_FLOAT, "currency": "EUR"},
        }
        while True:
            response = await self.send("POST", "/v1/sessions", body)
            if response.status_code == 201:
                session_id = str(response.json()["id"])
                break
            if response.status_code == 409:
                # Opened by an earlier attempt whose answer was lost.
                listed = await self.send(
                    "GET", f"/v1/sessions?register_id={self.till.register_id}&state=open"
                )
                items = listed.json()["items"] if listed.status_code == 200 else []
                if items:
                    session_id = str(items[0]["id"])
                    break
            if response.status_code == 422 and "is not known" in response.text:
                # The orders service has not heard of the new register yet.
                await asyncio.sleep(0.2)
                continue
            raise self._refuse("opening the till session", response)
        self.ledger.sessions.append(session_id)
        return session_id

    async def close_session(self, session_id: str) -> None:
        current = await self.send("GET", f"/v1/sessions/{session_id}")
        if current.status_code != 200:
            raise self._refuse("reading the till session", current)
        counted = dict(current.json()["expected_cash"])
        counted["amount"] -= self.short_by
        response = await self.send(
            "POST", f"/v1/sessions/{session_id}/close", {"counted_cash": counted}
        )
        if response.status_code == 409:
            # Closed by an earlier attempt whose answer was lost.
            again = await self.send("GET", f"/v1/sessions/{session_id}")
            if again.status_code == 200 and again.json()["state"] == "closed":
                response = again
        if response.status_code != 200:
            raise self._refuse("closing the till session", response)
        self.ledger.sessions_closed.append(session_id)

    def _order_body(self) -> dict[str, Any]:
        lines: list[dict[str, Any]] = []
        for _ in range(self.random.randint(1, 3)):
            item = self.random.randrange(len(CATALOG))
            code, name, unit, rate, included = CATALOG[item]
            quantity = self.random.randint(1, 2)
            net_or_total = quantity * unit
            total = net_or_total if included else net_or_total * (100 + int(rate)) // 100
            lines.append(
                {
                    "product_ref": code,
                    "product_name": name,
                    "odoo_product_id": self.product_ids[item % len(self.product_ids)],
                    "quantity": str(quantity),
                    "unit_price": {"amount": unit, "currency": "EUR"},
                    "tax_rate_percent": rate,
                    "prices_include_tax": included,
                    "total": {"amount": total, "currency": "EUR"},
                }
            )
        total = sum(line["total"]["amount"] for line in lines)
        kind = self.random.choice(("cash", "card"))
        payment: dict[str, Any] = {
            "method": kind,
            "kind": kind,
            "amount": {"amount": total, "currency": "EUR"},
        }
        if kind == "cash" and self.random.random() < 0.5:
            tendered = math.ceil(total / 500) * 500
            payment["tendered"] = {"amount": tendered, "currency": "EUR"}
            payment["change"] = {"amount": tendered - total, "currency": "EUR"}
        return {
            "id": str(uuid.uuid4()),
            "register_id": self.till.register_id,
            "created_at": datetime.now(UTC).isoformat(),
            "lines": lines,
            "payments": [payment],
            "total": {"amount": total, "currency": "EUR"},
        }

    async def sell(self) -> dict[str, Any]:
        body = self._order_body()
        response = await self.send("POST", "/v1/orders", body)
        if response.status_code not in (200, 201):
            raise self._refuse(f"order {body['id']}", response)
        order: dict[str, Any] = response.json()
        self.ledger.sales.append(
            Sale(str(order["id"]), str(order["receipt_number"]), str(order["session_id"]))
        )
        if len(self.ledger.sales) >= self.ledger.inject_after:
            self.ledger.due.set()
        return order

    async def refund_first_line(self, order: dict[str, Any]) -> None:
        line = order["lines"][0]
        payment = order["payments"][0]
        body = {
            "id": str(uuid.uuid4()),
            "lines": [{"order_line_id": line["id"], "quantity": line["quantity"]}],
            "payments": [
                {"method": payment["method"], "kind": payment["kind"], "amount": line["total"]}
            ],
            "reason": "spilt",
        }
        response = await self.send("POST", f"/v1/orders/{order['id']}/refunds", body)
        if response.status_code not in (200, 201):
            raise self._refuse(f"refund {body['id']}", response)
        self.ledger.refunds.append(
            Refund(
                str(body["id"]),
                str(order["id"]),
                str(order["receipt_number"]),
                float(line["quantity"]),
            )
        )

    async def run(self, plan: TabletPlan) -> None:
        session_id = await self.open_session()
        for index in range(plan.orders):
            if index == plan.hold_at:
                await self.window.recovered.wait()
            if index == plan.close_at:
                await self.close_session(session_id)
                session_id = await self.open_session()
            order = await self.sell()
            if index % REFUND_EVERY == REFUND_EVERY - 1:
                await self.refund_first_line(order)
            await asyncio.sleep(plan.pace_s)
        await self.close_session(session_id)
