"""The JSON-RPC client and POS payloads the emulator's tests share, independent of its code."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import httpx

from odoo_emulator.testing import EmulatorControl, RunningEmulator

VERSIONS = (16, 17, 18)


@functools.cache
def shared_http_client() -> httpx.Client:
    """One plain-HTTP client for the run: building one per test costs more than the test."""
    return httpx.Client(timeout=10.0, verify=False)  # noqa: S501  the emulator speaks plain HTTP


class RpcError(Exception):
    """An Odoo error answer: HTTP 200 with an `error` object."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error['data']['name']}: {error['data']['message']}")
        self.error = error
        self.name: str = error["data"]["name"]
        self.message: str = error["data"]["message"]


@dataclass
class OdooRpc:
    """A bare JSON-RPC client, independent of the emulator's code, as a connector would be."""

    url: str
    database: str
    uid: int
    secret: str
    version: int
    http: httpx.Client = field(default_factory=shared_http_client)

    def call(self, service: str, method: str, args: list[Any]) -> dict[str, Any]:
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"service": service, "method": method, "args": args},
        }
        response = self.http.post(f"{self.url}/jsonrpc", json=payload)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def execute(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        body = self.call(
            "object",
            "execute_kw",
            [self.database, self.uid, self.secret, model, method, list(args), kwargs],
        )
        if "error" in body:
            raise RpcError(body["error"])
        return body.get("result")

    # ------------------------------------------------------------------ POS scenarios

    def open_session(self, config_id: int = 1, opening_cash: float = 0.0) -> int:
        session_id: int = self.execute("pos.session", "create", {"config_id": config_id})
        state = self.execute("pos.session", "read", [session_id], ["state"])[0]["state"]
        if state == "opening_control":
            method = "set_opening_control" if self.version == 18 else "set_cashbox_pos"
            self.execute("pos.session", method, [session_id], opening_cash, "opening")
        return session_id

    def push(self, orders: list[dict[str, Any]], draft: bool = False) -> Any:
        """create_from_ui (16/17) or sync_from_ui (18), with orders built by `order()`."""
        if self.version == 18:
            return self.execute("pos.order", "sync_from_ui", orders)
        return self.execute("pos.order", "create_from_ui", orders, draft=draft)


def order(
    version: int,
    session_id: int,
    name: str,
    lines: list[tuple[int, float, float]] | None = None,
    payments: list[tuple[int, float]] | None = None,
    *,
    draft: bool = False,
    amount_return: float = 0.0,
    partner_id: int | bool = False,
    to_invoice: bool = False,
    line_extra: dict[str, Any] | None = None,
    refunded_line_ids: list[int] | None = None,
    uuid: str | None = None,
    uid: int = 3,
    untaxed: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """An order as the POS UI sends it: lines (product, qty, price), payments (method, amount).

    Prices are what the customer pays. By default a line names no taxes (16/17 then take the
    product's 15%, excluded, so such an order does not balance at closing); `untaxed` sends
    empty `tax_ids` and amounts that agree with them in every version.
    """
    lines = [(1, 1.0, 2.5)] if lines is None else lines
    line_dicts = []
    total = 0.0
    for index, (product_id, qty, price) in enumerate(lines):
        incl = round(qty * price, 2)
        line = {
            "product_id": product_id,
            "qty": qty,
            "price_unit": price,
            "discount": 0,
            "price_subtotal": incl if untaxed else round(incl / 1.15, 2),
            "price_subtotal_incl": incl,
            "full_product_name": f"Product {product_id}",
            **({"tax_ids": [[6, False, []]]} if untaxed else {}),
            **(line_extra or {}),
        }
        if refunded_line_ids:
            line["refunded_orderline_id"] = refunded_line_ids[index]
        line_dicts.append([0, 0, line])
        total += incl
    total = round(total, 2)
    untaxed = round(sum(line[2]["price_subtotal"] for line in line_dicts), 2)
    payments = [(2, total)] if payments is None else payments
    paid = round(sum(amount for _method, amount in payments), 2)
    common = {
        "name": name,
        "user_id": uid,
        "partner_id": partner_id,
        "sequence_number": 1,
        "fiscal_position_id": False,
        "pricelist_id": 1,
        "amount_total": total,
        "amount_tax": round(total - untaxed, 2),
        "amount_paid": paid,
        "amount_return": amount_return,
        "lines": line_dicts,
        "to_invoice": to_invoice,
    }
    if version == 18:
        return {
            **common,
            "uuid": uuid or f"uuid-{name}",
            "session_id": session_id,
            "state": "draft" if draft else "paid",
            "date_order": "2024-05-01 10:00:00",
            "access_token": f"token-{name}",
            "payment_ids": [
                [
                    0,
                    0,
                    {
                        "payment_method_id": method,
                        "amount": amount,
                        "payment_date": "2024-05-01 10:00:00",
                    },
                ]
                for method, amount in payments
            ],
            **extra,
        }
    data = {
        **common,
        "pos_session_id": session_id,
        ("creation_date" if version == 16 else "date_order"): "2024-05-01T10:00:00.000Z",
        "statement_ids": [
            [0, 0, {"name": "2024-05-01 10:00:00", "payment_method_id": method, "amount": amount}]
            for method, amount in payments
        ],
        **extra,
    }
    return {"id": name, "data": data, "to_invoice": to_invoice}


@dataclass
class EmulatorUnderTest:
    """What a test gets: the server, its control API, and an RPC client logged in as pos-bot."""

    version: int
    running: RunningEmulator
    control: EmulatorControl
    rpc: OdooRpc
    seed: dict[str, Any]

    @property
    def url(self) -> str:
        return self.running.url

    def order(self, session_id: int, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return order(self.version, session_id, name, *args, **kwargs)

    def rpc_as(self, uid: int, secret: str, database: str = "demo") -> OdooRpc:
        return OdooRpc(self.url, database, uid, secret, self.version)
