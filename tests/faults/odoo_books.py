"""What the tenant's accountant sees in Odoo, read through Odoo's own JSON-RPC.

A client of its own rather than the connector's: the checks must not share the code under test.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx


class OdooRpcError(RuntimeError):
    pass


@dataclass
class OdooReader:
    url: str
    database: str
    login: str
    api_key: str
    client: httpx.AsyncClient
    uid: int | None = None

    async def _rpc(self, service: str, method: str, *args: Any) -> Any:
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": next(_ids),
        }
        response = await self.client.post(f"{self.url}/jsonrpc", json=payload, timeout=30)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        if "error" in answer:
            error = answer["error"].get("data", {}).get("message") or answer["error"]
            raise OdooRpcError(f"{service}.{method}: {error}")
        return answer["result"]

    async def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.uid is None:
            uid = await self._rpc(
                "common", "authenticate", self.database, self.login, self.api_key, {}
            )
            if not uid:
                raise OdooRpcError(f"{self.login} cannot log in to {self.database}")
            self.uid = int(uid)
        return await self._rpc(
            "object",
            "execute_kw",
            self.database,
            self.uid,
            self.api_key,
            model,
            method,
            list(args),
            kwargs,
        )

    async def books(self) -> Books:
        orders = await self.call(
            "pos.order",
            "search_read",
            [],
            fields=["id", "pos_reference", "session_id", "state", "lines"],
        )
        lines = await self.call(
            "pos.order.line",
            "search_read",
            [["order_id", "in", [o["id"] for o in orders]]],
            fields=["id", "order_id", "qty", "refunded_orderline_id"],
        )
        sessions = await self.call(
            "pos.session",
            "search_read",
            [],
            fields=["id", "name", "state", "config_id", "cash_register_difference"],
        )
        return Books(orders, lines, sessions)


_ids = itertools.count(1)


def _id(many2one: Any) -> int | None:
    """A many2one as JSON-RPC reads it ([id, name] or False)."""
    return int(many2one[0]) if many2one else None


@dataclass
class Books:
    orders: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    sessions: list[dict[str, Any]]

    def orders_by_reference(self) -> dict[str, list[dict[str, Any]]]:
        by_reference: dict[str, list[dict[str, Any]]] = {}
        for order in self.orders:
            by_reference.setdefault(str(order["pos_reference"]), []).append(order)
        return by_reference

    def line_order(self) -> dict[int, int]:
        """Each line's order id."""
        return {int(line["id"]): int(line["order_id"][0]) for line in self.lines}

    def lines_of(self, order_id: int) -> list[dict[str, Any]]:
        return [line for line in self.lines if _id(line["order_id"]) == order_id]

    def refunded_line(self, line: dict[str, Any]) -> int | None:
        return _id(line["refunded_orderline_id"])

    def session_states(self) -> dict[int, str]:
        return {int(s["id"]): str(s["state"]) for s in self.sessions}

    def cash_difference_cents(self, session_ids: set[int]) -> int:
        """What these sessions' closes booked as counted minus expected cash."""
        return sum(
            round(float(s["cash_register_difference"] or 0.0) * 100)
            for s in self.sessions
            if int(s["id"]) in session_ids
        )
