"""The POS operations the connector performs in one tenant's Odoo, in each version's own way.

Every call goes through `call`, which feeds the endpoint's circuit breaker and turns Odoo's
answers into what the retry policy must see (see domain.classify).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from odoo_connector.breaker import CircuitBreakers
from odoo_connector.domain import (
    OdooCredentialsRejected,
    OdooOrder,
    OdooUserError,
    OrderLeftInDraftError,
    OriginalLine,
    SessionTarget,
    classify,
)
from odoo_connector.odoo_client import OdooClient, OdooEndpoint, OdooUnavailable
from shared.retry_topology import WaitForPrerequisite


@dataclass(frozen=True)
class TenantOdoo:
    """A tenant's Odoo, logged in."""

    endpoint: OdooEndpoint
    version: int
    uid: int


@dataclass(frozen=True)
class OdooOrderState:
    odoo_order_id: int
    state: str
    odoo_session_id: int | None


@dataclass(frozen=True)
class Pushed:
    odoo_order_id: int
    odoo_session_id: int | None


def _many2one(value: Any) -> int | None:
    if isinstance(value, list) and value:
        return int(value[0])
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


class OdooPos:
    def __init__(self, client: OdooClient, breakers: CircuitBreakers) -> None:
        self.client = client
        self.breakers = breakers

    def check_breaker(self, endpoint: OdooEndpoint) -> None:
        if self.breakers.is_open(endpoint.url):
            raise WaitForPrerequisite(
                "odoo_unavailable", f"the circuit to {endpoint.url} is open; Odoo is being probed"
            )

    async def guarded(self, endpoint: OdooEndpoint, call: Any) -> Any:
        """Awaits `call`, counting outages for the breaker and classifying Odoo's errors."""
        try:
            result = await call
        except OdooUnavailable:
            if self.breakers.record_outage(endpoint.url):
                raise WaitForPrerequisite(
                    "odoo_unavailable", f"{endpoint.url} stopped answering; the circuit is open"
                ) from None
            raise
        except Exception as error:
            self.breakers.record_success(endpoint.url)
            classified = classify(error)
            if classified is error:
                raise
            raise classified from error
        self.breakers.record_success(endpoint.url)
        return result

    async def login(self, endpoint: OdooEndpoint, version: int | None) -> TenantOdoo:
        self.check_breaker(endpoint)
        if version is None:
            version = await self.guarded(endpoint, self.client.version(endpoint.url))
        uid = await self.guarded(endpoint, self.client.authenticate(endpoint))
        if uid is None:
            raise OdooCredentialsRejected(
                f"Odoo at {endpoint.url} refused the login {endpoint.login!r} on database "
                f"{endpoint.database!r}"
            )
        assert version is not None
        return TenantOdoo(endpoint, version, uid)

    async def call(
        self,
        odoo: TenantOdoo,
        model: str,
        method: str,
        args: list[Any],
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        self.check_breaker(odoo.endpoint)
        return await self.guarded(
            odoo.endpoint,
            self.client.execute_kw(odoo.endpoint, odoo.uid, model, method, args, kwargs),
        )

    # ---------------------------------------------------------------- sessions

    async def open_session(self, odoo: TenantOdoo, pos_config_id: int) -> SessionTarget:
        """The config's live session (adopted, e.g. after a crash), or a new one, opened."""
        configs = await self.call(
            odoo,
            "pos.config",
            "search_read",
            [[["id", "=", pos_config_id]]],
            {"fields": ["id", "pricelist_id"]},
        )
        if not configs:
            raise WaitForPrerequisite(
                "register_not_in_odoo", f"pos.config {pos_config_id} is not (yet) in Odoo"
            )
        pricelist_id = _many2one(configs[0].get("pricelist_id"))
        live = await self.call(
            odoo,
            "pos.session",
            "search_read",
            [
                [
                    ["config_id", "=", pos_config_id],
                    ["state", "!=", "closed"],
                    ["rescue", "=", False],
                ]
            ],
            {"fields": ["id", "state"], "order": "id desc", "limit": 1},
        )
        if live:
            session_id, state = int(live[0]["id"]), str(live[0]["state"])
        else:
            created = await self.call(odoo, "pos.session", "create", [{"config_id": pos_config_id}])
            session_id = created if isinstance(created, int) else int(created[0])
            read = await self.call(
                odoo, "pos.session", "read", [[session_id]], {"fields": ["state"]}
            )
            state = str(read[0]["state"])
        if state == "opening_control":
            # A register with a cash method needs the explicit opening step (odoo-api.md 4.2).
            opening = "set_opening_control" if odoo.version == 18 else "set_cashbox_pos"
            await self.call(odoo, "pos.session", opening, [[session_id], 0, ""])
        return SessionTarget(session_id, pricelist_id, odoo.uid)

    async def close_session(self, odoo: TenantOdoo, odoo_session_id: int) -> str | None:
        """None when closed (or already closed), else Odoo's reason."""
        try:
            await self.call(
                odoo, "pos.session", "action_pos_session_closing_control", [[odoo_session_id]]
            )
        except OdooUserError as error:
            if "already closed" in str(error):
                return None
            return str(error)
        return None

    # ---------------------------------------------------------------- orders

    async def find_orders(
        self, odoo: TenantOdoo, orders: list[OdooOrder]
    ) -> dict[str, OdooOrderState]:
        """Our orders as Odoo has them, by our uuid: 18 by `uuid`, 16/17 by `pos_reference`."""
        if not orders:
            return {}
        if odoo.version == 18:
            key, values = "uuid", [o.uuid for o in orders]
        else:
            key, values = "pos_reference", [o.reference for o in orders]
        rows = await self.call(
            odoo,
            "pos.order",
            "search_read",
            [[[key, "in", values]]],
            {"fields": ["id", "state", "session_id", key], "order": "id"},
        )
        by_key: dict[str, OdooOrderState] = {}
        for row in rows:
            found = OdooOrderState(int(row["id"]), str(row["state"]), _many2one(row["session_id"]))
            previous = by_key.get(row[key])
            # A 16/17 reference may have been re-created with other content: the first kept one
            # that is not a draft is ours.
            if previous is None or (previous.state == "draft" and found.state != "draft"):
                by_key[row[key]] = found
        by_uuid = {}
        for order in orders:
            state = by_key.get(order.uuid if odoo.version == 18 else order.reference)
            if state is not None:
                by_uuid[order.uuid] = state
        return by_uuid

    async def create_orders(
        self, odoo: TenantOdoo, session: SessionTarget, orders: list[OdooOrder]
    ) -> None:
        payloads = [order.payload(odoo.version, session) for order in orders]
        if odoo.version == 18:
            await self.call(odoo, "pos.order", "sync_from_ui", [payloads])
        else:
            await self.call(odoo, "pos.order", "create_from_ui", [payloads], {"draft": False})

    async def original_lines(
        self, odoo: TenantOdoo, odoo_order_id: int, our_line_ids: list[UUID]
    ) -> dict[UUID, OriginalLine]:
        """The Odoo lines of an order we pushed, by our line ids (Odoo keeps the lines in the
        order they were sent, so the n-th line by id is our n-th line)."""
        rows = await self.call(
            odoo,
            "pos.order.line",
            "search_read",
            [[["order_id", "=", odoo_order_id]]],
            {"fields": ["id", "product_id", "price_unit"], "order": "id"},
        )
        return {
            line_id: OriginalLine(
                int(row["id"]), _many2one(row["product_id"]) or 0, float(row["price_unit"])
            )
            for line_id, row in zip(our_line_ids, rows, strict=False)
        }

    async def products_by_code(self, odoo: TenantOdoo, codes: list[str]) -> dict[str, int]:
        rows = await self.call(
            odoo,
            "product.product",
            "search_read",
            [[["default_code", "in", codes]]],
            {"fields": ["id", "default_code"]},
        )
        return {str(r["default_code"]): int(r["id"]) for r in rows}

    async def summary(self, odoo: TenantOdoo) -> dict[str, Any]:
        """What /check reports: the template pos.config and the payment methods."""
        configs = await self.call(
            odoo,
            "pos.config",
            "search_read",
            [[["active", "=", True]]],
            {"fields": ["id", "name"], "order": "id", "limit": 1},
        )
        methods = await self.call(
            odoo, "pos.payment.method", "search_read", [[]], {"fields": ["id", "name"]}
        )
        return {
            "template_pos_config": configs[0] if configs else None,
            "payment_methods": [{"id": m["id"], "name": m["name"]} for m in methods],
        }


def draft_failure(order: OdooOrder) -> OrderLeftInDraftError:
    return OrderLeftInDraftError(
        f"Odoo kept {order.reference} as draft: the payments "
        f"({order.amount_paid:.2f}) do not settle the total ({order.amount_total:.2f})"
    )
