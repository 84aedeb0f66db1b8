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
    OdooSaleTax,
    OdooUserError,
    OrderLeftInDraftError,
    OriginalLine,
    SessionCloseRefusedError,
    SessionTarget,
    TemplatePosConfigMissingError,
    classify,
    many2one_id,
)
from odoo_connector.odoo_client import OdooClient, OdooEndpoint, OdooUnavailable
from shared.retry_topology import WaitForPrerequisite

# Our external ids in the tenant's Odoo: `pos_platform.<kind>_<register id>` (xmlid_name).
XMLID_MODULE = "pos_platform"
ANY_ACTIVE = ["active", "in", [True, False]]
FIELD_ATTRIBUTES = ["type", "readonly", "store", "related", "relation"]
SESSION_FIGURES = [
    "state",
    "config_id",
    "cash_register_balance_start",
    "cash_register_balance_end",
    "cash_register_balance_end_real",
    "cash_register_difference",
]


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


class OdooOutage(WaitForPrerequisite):
    """Odoo did not answer, or its breaker is open: the work waits for this endpoint, never
    spending a retry."""

    def __init__(self, endpoint: OdooEndpoint, detail: str) -> None:
        super().__init__("odoo_unavailable", detail)
        self.endpoint = endpoint


@dataclass(frozen=True)
class Pushed:
    odoo_order_id: int
    odoo_session_id: int | None


class OdooPos:
    def __init__(self, client: OdooClient, breakers: CircuitBreakers) -> None:
        self.client = client
        self.breakers = breakers
        # pos.config's fields per Odoo database; they change only with an Odoo upgrade.
        self._pos_config_fields: dict[tuple[str, str, int], dict[str, dict[str, Any]]] = {}

    def check_breaker(self, endpoint: OdooEndpoint) -> None:
        if self.breakers.is_open(endpoint):
            raise OdooOutage(
                endpoint, f"the circuit to {endpoint.url} is open; Odoo is being probed"
            )

    async def guarded(self, endpoint: OdooEndpoint, call: Any) -> Any:
        """Awaits `call`, counting outages for the breaker and classifying Odoo's errors.

        An unanswered call (refused, reset, a 5xx page, a time-out) is an outage, never a
        message failure: the message waits without spending its retries, and enough of them
        in a row open the breaker."""
        try:
            result = await call
        except OdooUnavailable as error:
            state = "the circuit is open" if self.breakers.record_outage(endpoint) else "waiting"
            detail = f"{endpoint.url} did not answer ({error}); {state}"
            raise OdooOutage(endpoint, detail) from None
        except Exception as error:
            self.breakers.record_success(endpoint)
            classified = classify(error)
            if classified is error:
                raise
            raise classified from error
        self.breakers.record_success(endpoint)
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

    async def open_session(
        self, odoo: TenantOdoo, pos_config_id: int, opening_cash: float | None
    ) -> SessionTarget:
        """The config's live session (adopted, e.g. after a crash), or a new one, opened with the
        till's float; None keeps the start balance Odoo proposes (no opening difference).

        A session Odoo is closing is never adopted: it takes no orders (16/17 would move them to
        a rescue session, 18 refuses them), so the register waits until it is closed."""
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
        pricelist_id = many2one_id(configs[0].get("pricelist_id"))
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
            state = await self.session_state(odoo, session_id)
        if state == "closing_control":
            raise WaitForPrerequisite(
                "odoo_session_closing",
                f"Odoo session {session_id} of pos.config {pos_config_id} is closing; the "
                "register's orders wait until it is closed",
            )
        if state == "opening_control":
            # A register with a cash method needs the explicit opening step (odoo-api.md 4.2).
            if opening_cash is None:
                opening_cash = float(
                    (await self.session_figures(odoo, session_id))["cash_register_balance_start"]
                )
            opening = "set_opening_control" if odoo.version == 18 else "set_cashbox_pos"
            await self.call(odoo, "pos.session", opening, [[session_id], opening_cash, ""])
        return SessionTarget(session_id, pricelist_id, odoo.uid)

    async def session_state(self, odoo: TenantOdoo, session_id: int) -> str:
        """The session's state; `closed` for one Odoo no longer has."""
        rows = await self.call(
            odoo, "pos.session", "search_read", [[["id", "=", session_id]]], {"fields": ["state"]}
        )
        return str(rows[0]["state"]) if rows else "closed"

    async def is_live_rescue_session(self, odoo: TenantOdoo, session_id: int) -> bool:
        rows = await self.call(
            odoo,
            "pos.session",
            "search_read",
            [[["id", "=", session_id], ["rescue", "=", True], ["state", "!=", "closed"]]],
            {"fields": ["id"]},
        )
        return bool(rows)

    async def session_figures(self, odoo: TenantOdoo, session_id: int) -> dict[str, Any]:
        rows = await self.call(
            odoo, "pos.session", "read", [[session_id]], {"fields": SESSION_FIGURES}
        )
        figures: dict[str, Any] = rows[0]
        return figures

    async def close_session(
        self, odoo: TenantOdoo, session_id: int, counted_cash: float | None
    ) -> float:
        """Closes the session through the flow the POS UI uses, counting `counted_cash` (None:
        the cash Odoo expects, so no difference is booked there); returns the cash difference
        Odoo booked. Odoo refusing, or answering with the Force Close wizard, is a
        SessionCloseRefusedError: the session stays as Odoo left it, to be closed again."""
        figures = await self.session_figures(odoo, session_id)
        if figures["state"] == "closed":
            return float(figures["cash_register_difference"] or 0.0)
        config_id = many2one_id(figures["config_id"])
        configs = await self.call(
            odoo, "pos.config", "read", [[config_id]], {"fields": ["cash_control"]}
        )
        try:
            if configs and configs[0].get("cash_control"):
                counted = (
                    counted_cash
                    if counted_cash is not None
                    else float(figures["cash_register_balance_end"])
                )
                _refused_unless_successful(
                    await self.call(
                        odoo, "pos.session", "post_closing_cash_details", [[session_id], counted]
                    ),
                    session_id,
                )
            await self.call(
                odoo, "pos.session", "update_closing_control_state_session", [[session_id], ""]
            )
            _refused_unless_successful(
                await self.call(odoo, "pos.session", "close_session_from_ui", [[session_id]]),
                session_id,
            )
        except OdooUserError as error:
            if "already closed" in str(error):
                return float(figures["cash_register_difference"] or 0.0)
            raise SessionCloseRefusedError(
                f"Odoo refused to close session {session_id}: {error.odoo_message}"
            ) from error
        after = await self.session_figures(odoo, session_id)
        if after["state"] != "closed":
            raise SessionCloseRefusedError(
                f"Odoo answered the close of session {session_id} but left it {after['state']}"
            )
        return float(after["cash_register_difference"] or 0.0)

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
            found = OdooOrderState(
                int(row["id"]), str(row["state"]), many2one_id(row["session_id"])
            )
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
            {
                "fields": ["id", "product_id", "price_unit", "discount", "tax_ids"],
                "order": "id",
            },
        )
        return {
            line_id: OriginalLine(
                int(row["id"]),
                many2one_id(row["product_id"]) or 0,
                float(row["price_unit"]),
                float(row.get("discount") or 0.0),
                tuple(int(t) for t in row.get("tax_ids") or ()),
            )
            for line_id, row in zip(our_line_ids, rows, strict=False)
        }

    async def sale_taxes(self, odoo: TenantOdoo) -> list[OdooSaleTax]:
        """The company's active sale taxes; `price_include` is read, never searched (18 computes
        it from `price_include_override` and the company's default)."""
        rows = await self.call(
            odoo,
            "account.tax",
            "search_read",
            [[["type_tax_use", "=", "sale"]]],
            {"fields": ["id", "name", "amount", "amount_type", "price_include"], "order": "id"},
        )
        return [
            OdooSaleTax(
                int(row["id"]),
                str(row["name"]),
                float(row["amount"]),
                str(row["amount_type"]),
                bool(row["price_include"]),
            )
            for row in rows
        ]

    async def products_by_code(self, odoo: TenantOdoo, codes: list[str]) -> dict[str, int]:
        rows = await self.call(
            odoo,
            "product.product",
            "search_read",
            [[["default_code", "in", codes]]],
            {"fields": ["id", "default_code"]},
        )
        return {str(r["default_code"]): int(r["id"]) for r in rows}

    # ---------------------------------------------------------------- registers

    async def pos_config_fields(self, odoo: TenantOdoo) -> dict[str, dict[str, Any]]:
        key = (odoo.endpoint.url, odoo.endpoint.database, odoo.version)
        fields = self._pos_config_fields.get(key)
        if fields is None:
            fields = await self.call(
                odoo, "pos.config", "fields_get", [], {"attributes": FIELD_ATTRIBUTES}
            )
            self._pos_config_fields[key] = fields
        return fields

    async def template_pos_config(
        self, odoo: TenantOdoo, template_id: int | None, fields: list[str]
    ) -> dict[str, Any]:
        """The pos.config named in the tenant's settings, or else its first active one."""
        rows = await self.call(
            odoo,
            "pos.config",
            "search_read",
            [_template_domain(template_id)],
            {"fields": fields, "order": "id", "limit": 1},
        )
        if not rows:
            raise TemplatePosConfigMissingError(
                f"the tenant's Odoo has no pos.config {template_id} to clone registers from"
                if template_id
                else "the tenant's Odoo has no active pos.config to clone registers from"
            )
        template: dict[str, Any] = rows[0]
        return template

    async def cash_methods(self, odoo: TenantOdoo, method_ids: set[int]) -> dict[int, int | None]:
        """The cash ones among these payment methods, with their journals."""
        if not method_ids:
            return {}
        rows = await self.call(
            odoo,
            "pos.payment.method",
            "search_read",
            [[["id", "in", sorted(method_ids)], ["is_cash_count", "=", True]]],
            {"fields": ["id", "journal_id"], "order": "id"},
        )
        return {int(row["id"]): many2one_id(row.get("journal_id")) for row in rows}

    async def journal_currency(self, odoo: TenantOdoo, journal_id: int) -> int | None:
        rows = await self.call(
            odoo, "account.journal", "read", [[journal_id]], {"fields": ["currency_id"]}
        )
        return many2one_id(rows[0].get("currency_id")) if rows else None

    async def journal_codes(self, odoo: TenantOdoo, company_id: int | None) -> set[str]:
        """The codes of the company's journals, archived ones too."""
        domain: list[Any] = [ANY_ACTIVE]
        if company_id is not None:
            domain.append(["company_id", "=", company_id])
        rows = await self.call(
            odoo, "account.journal", "search_read", [domain], {"fields": ["code"]}
        )
        return {str(row["code"]) for row in rows}

    async def first_id(self, odoo: TenantOdoo, model: str, domain: list[Any]) -> int | None:
        """The oldest record of the model matching the domain, archived or not."""
        rows = await self.call(
            odoo,
            model,
            "search_read",
            [[*domain, ANY_ACTIVE]],
            {"fields": ["id"], "order": "id", "limit": 1},
        )
        return int(rows[0]["id"]) if rows else None

    async def create(self, odoo: TenantOdoo, model: str, values: dict[str, Any]) -> int:
        created = await self.call(odoo, model, "create", [values])
        return created if isinstance(created, int) else int(created[0])

    async def create_pos_config(self, odoo: TenantOdoo, values: dict[str, Any]) -> int:
        return await self.create(odoo, "pos.config", values)

    async def pos_config_state(self, odoo: TenantOdoo, config_id: int) -> dict[str, Any] | None:
        """The pos.config's name and active flag, archived or not; None if it is gone."""
        rows = await self.call(
            odoo,
            "pos.config",
            "search_read",
            [[["id", "=", config_id], ANY_ACTIVE]],
            {"fields": ["name", "active"]},
        )
        return dict(rows[0]) if rows else None

    async def write_pos_config(
        self, odoo: TenantOdoo, config_id: int, changes: dict[str, Any]
    ) -> None:
        await self.call(odoo, "pos.config", "write", [[config_id], changes])

    async def by_external_id(self, odoo: TenantOdoo, model: str, name: str) -> int | None:
        """The record our external id `pos_platform.<name>` names."""
        rows = await self.call(
            odoo,
            "ir.model.data",
            "search_read",
            [[["module", "=", XMLID_MODULE], ["name", "=", name], ["model", "=", model]]],
            {"fields": ["res_id"], "limit": 1},
        )
        return int(rows[0]["res_id"]) if rows else None

    async def claim(self, odoo: TenantOdoo, model: str, name: str, res_id: int) -> None:
        """Names a record we made `pos_platform.<name>`, so a lost answer never makes a second."""
        await self.call(
            odoo,
            "ir.model.data",
            "create",
            [
                {
                    "module": XMLID_MODULE,
                    "name": name,
                    "model": model,
                    "res_id": res_id,
                    "noupdate": True,
                }
            ],
        )

    async def pos_config_by_external_id(self, odoo: TenantOdoo, register_id: UUID) -> int | None:
        return await self.by_external_id(odoo, "pos.config", xmlid_name("pos_config", register_id))

    async def claim_pos_config(self, odoo: TenantOdoo, register_id: UUID, config_id: int) -> None:
        await self.claim(odoo, "pos.config", xmlid_name("pos_config", register_id), config_id)

    async def unclaimed_pos_configs(self, odoo: TenantOdoo, names: list[str]) -> list[int]:
        """pos.configs of these names, newest first, that no external id names (neither one of
        ours for another register, nor a module's)."""
        rows = await self.call(
            odoo,
            "pos.config",
            "search_read",
            [[["name", "in", names], ANY_ACTIVE]],
            {"fields": ["id"], "order": "id desc"},
        )
        ids = [int(row["id"]) for row in rows]
        if not ids:
            return []
        claimed = await self.call(
            odoo,
            "ir.model.data",
            "search_read",
            [[["model", "=", "pos.config"], ["res_id", "in", ids]]],
            {"fields": ["res_id"]},
        )
        taken = {int(row["res_id"]) for row in claimed}
        return [i for i in ids if i not in taken]

    async def summary(self, odoo: TenantOdoo, template_id: int | None) -> dict[str, Any]:
        """What /check reports: the template pos.config and the payment methods."""
        configs = await self.call(
            odoo,
            "pos.config",
            "search_read",
            [_template_domain(template_id)],
            {"fields": ["id", "name"], "order": "id", "limit": 1},
        )
        methods = await self.call(
            odoo, "pos.payment.method", "search_read", [[]], {"fields": ["id", "name"]}
        )
        return {
            "template_pos_config": configs[0] if configs else None,
            "payment_methods": [{"id": m["id"], "name": m["name"]} for m in methods],
        }


def _refused_unless_successful(answer: Any, session_id: int) -> None:
    """The UI flow answers `{"successful": false, "message": ...}` where the backend raises,
    and a wizard action (Force Close Session) when the closing entry does not balance."""
    if isinstance(answer, dict) and answer.get("successful") is False:
        raise SessionCloseRefusedError(
            f"Odoo refused to close session {session_id}: "
            f"{answer.get('message') or answer.get('title') or answer}"
        )


def draft_failure(order: OdooOrder) -> OrderLeftInDraftError:
    return OrderLeftInDraftError(
        f"Odoo kept {order.reference} as draft: the payments "
        f"({order.amount_paid:.2f}) do not settle the total ({order.amount_total:.2f})"
    )


def _template_domain(template_id: int | None) -> list[Any]:
    """The pos.config the tenant's settings name (archived or not), else the first active one."""
    return [["id", "=", template_id], ANY_ACTIVE] if template_id else [["active", "=", True]]


def xmlid_name(kind: str, register_id: UUID) -> str:
    """Our external id's name for a register's record: `pos_config_<hex>`, `cash_journal_<hex>`."""
    return f"{kind}_{register_id.hex}"
