"""Reading a Pro tenant's Odoo history for the backfill: closed sessions, their orders with lines
and payments, and what those refer to (registers, payment methods, taxes, products).

Only reads (`search_read`, `fields_get`). Fields are asked for only if the tenant's Odoo has them
(learned with `fields_get`), which is how version differences are absorbed: 18's
`payment_method_type` exists only there; the order's date is the `date_order` field in 16, 17 and
18 alike (16's `creation_date` is only a key of the POS client's payload, not a field).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from odoo_connector.domain import many2one_id
from odoo_connector.odoo_pos import OdooPos, TenantOdoo

# How many ids one `in` domain carries: keeps each read well under Odoo's request limits.
READ_CHUNK = 500
HISTORY_STATES = ("paid", "done", "invoiced", "cancel")

_WANTED = {
    "pos.config": ["id", "name", "active", "currency_id"],
    "pos.session": [
        "id",
        "name",
        "config_id",
        "user_id",
        "start_at",
        "stop_at",
        "state",
        "rescue",
        "cash_register_balance_start",
        "cash_register_balance_end_real",
    ],
    "pos.order": [
        "id",
        "name",
        "pos_reference",
        "session_id",
        "date_order",
        "state",
        "amount_total",
        "partner_id",
        "note",
    ],
    "pos.order.line": [
        "id",
        "order_id",
        "product_id",
        "full_product_name",
        "qty",
        "price_unit",
        "discount",
        "price_subtotal",
        "price_subtotal_incl",
        "tax_ids",
        "refunded_orderline_id",
    ],
    "pos.payment": ["id", "pos_order_id", "payment_method_id", "amount"],
    "pos.payment.method": ["id", "name", "is_cash_count", "type", "payment_method_type"],
    "account.tax": ["id", "amount", "amount_type", "price_include"],
    "product.product": ["id", "default_code", "display_name"],
}


def many2one_name(value: Any) -> str | None:
    return str(value[1]) if isinstance(value, list) and len(value) > 1 else None


def odoo_moment(value: Any) -> datetime | None:
    """Odoo datetimes are UTC strings without offset ("2026-03-02 09:15:00")."""
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("T", " ")[:19]).replace(tzinfo=UTC)


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class OdooConfig:
    id: int
    name: str
    active: bool
    currency: str | None


@dataclass(frozen=True)
class OdooSession:
    id: int
    name: str
    config_id: int
    user_name: str | None
    start_at: datetime
    stop_at: datetime | None
    opening_cash: float
    counted_cash: float


@dataclass(frozen=True)
class OdooLine:
    id: int
    order_id: int
    product_id: int
    product_name: str | None
    qty: float
    price_unit: float
    discount: float
    price_subtotal: float
    price_subtotal_incl: float
    tax_ids: tuple[int, ...]
    refunded_line_id: int | None


@dataclass(frozen=True)
class OdooPayment:
    id: int
    order_id: int
    method_id: int
    amount: float


@dataclass(frozen=True)
class OdooOrder:
    id: int
    name: str
    pos_reference: str | None
    session_id: int
    date_order: datetime
    state: str
    amount_total: float
    partner_name: str | None
    note: str | None
    lines: tuple[OdooLine, ...] = ()
    payments: tuple[OdooPayment, ...] = ()


@dataclass(frozen=True)
class OdooPaymentMethod:
    id: int
    name: str
    is_cash: bool
    type: str | None  # cash / bank / pay_later (computed from the journal)
    integration: str | None  # 18's payment_method_type: none / terminal / qr_code


@dataclass(frozen=True)
class OdooTax:
    id: int
    amount: float
    amount_type: str
    price_include: bool


@dataclass(frozen=True)
class OdooProduct:
    id: int
    default_code: str | None
    name: str | None


@dataclass
class OdooHistory:
    """What one backfill run read: closed sessions in its window and everything they hold."""

    version: int
    configs: dict[int, OdooConfig]
    sessions: list[OdooSession]
    orders: list[OdooOrder]
    # Lines refunded by orders of the window, by line id: their order ids, for originals that
    # lie outside the window.
    refunded_line_orders: dict[int, int]
    methods: dict[int, OdooPaymentMethod]
    taxes: dict[int, OdooTax]
    products: dict[int, OdooProduct]
    # Orders of sessions still open (or closing) in Odoo: they come with a later run.
    orders_in_open_sessions: int = 0
    open_sessions: int = 0
    sessions_by_id: dict[int, OdooSession] = field(init=False)

    def __post_init__(self) -> None:
        self.sessions_by_id = {s.id: s for s in self.sessions}


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), READ_CHUNK):
        yield list(ids[start : start + READ_CHUNK])


class HistoryReader:
    """Reads one tenant's Odoo history through the connector's Odoo calls, reads only."""

    def __init__(self, pos: OdooPos, odoo: TenantOdoo) -> None:
        self._pos = pos
        self._odoo = odoo
        self._fields: dict[str, list[str]] = {}

    async def _fields_of(self, model: str) -> list[str]:
        if model not in self._fields:
            known = await self._pos.call(
                self._odoo, model, "fields_get", [], {"attributes": ["type"]}
            )
            self._fields[model] = [name for name in _WANTED[model] if name in known]
        return self._fields[model]

    async def _search_read(
        self, model: str, domain: list[Any], order: str = "id"
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = await self._pos.call(
            self._odoo,
            model,
            "search_read",
            [domain],
            # Archived registers, methods, taxes and products still appear in history.
            {
                "fields": await self._fields_of(model),
                "order": order,
                "context": {"active_test": False},
            },
        )
        return rows

    async def _by_ids(
        self, model: str, key: str, ids: Iterable[int], extra: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(set(ids))):
            rows += await self._search_read(model, [[key, "in", chunk], *(extra or [])])
        return rows

    async def read(self, since: date | None) -> OdooHistory:
        configs = {
            int(row["id"]): OdooConfig(
                int(row["id"]),
                str(row["name"]),
                bool(row.get("active", True)),
                many2one_name(row.get("currency_id")),
            )
            for row in await self._search_read("pos.config", [])
        }
        window: list[Any] = []
        if since is not None:
            start = datetime(since.year, since.month, since.day, tzinfo=UTC)
            window = [["start_at", ">=", start.strftime("%Y-%m-%d %H:%M:%S")]]
        session_rows = await self._search_read("pos.session", window, order="start_at, id")
        sessions = [_session(row) for row in session_rows if row.get("state") == "closed"]
        open_ids = [int(row["id"]) for row in session_rows if row.get("state") != "closed"]
        orders = [
            _order(row)
            for row in await self._by_ids(
                "pos.order",
                "session_id",
                [s.id for s in sessions],
                [["state", "in", list(HISTORY_STATES)]],
            )
        ]
        waiting = await self._by_ids("pos.order", "session_id", open_ids) if open_ids else []
        lines = [
            _line(row)
            for row in await self._by_ids("pos.order.line", "order_id", [o.id for o in orders])
        ]
        payments = [
            _payment(row)
            for row in await self._by_ids("pos.payment", "pos_order_id", [o.id for o in orders])
        ]
        refunded_ids = {line.refunded_line_id for line in lines if line.refunded_line_id}
        refunded_line_orders = {
            int(row["id"]): many2one_id(row["order_id"]) or 0
            for row in await self._by_ids("pos.order.line", "id", refunded_ids)
        }
        lines_of: dict[int, list[OdooLine]] = {}
        for line in lines:
            lines_of.setdefault(line.order_id, []).append(line)
        payments_of: dict[int, list[OdooPayment]] = {}
        for payment in payments:
            payments_of.setdefault(payment.order_id, []).append(payment)
        orders = [
            _with(order, tuple(lines_of.get(order.id, ())), tuple(payments_of.get(order.id, ())))
            for order in orders
        ]
        methods = {
            int(row["id"]): _method(row)
            for row in await self._search_read("pos.payment.method", [])
        }
        taxes = {
            int(row["id"]): OdooTax(
                int(row["id"]),
                float(row.get("amount") or 0.0),
                str(row.get("amount_type") or "percent"),
                bool(row.get("price_include")),
            )
            for row in await self._by_ids(
                "account.tax", "id", {t for li in lines for t in li.tax_ids}
            )
        }
        products = {
            int(row["id"]): OdooProduct(
                int(row["id"]), text(row.get("default_code")), text(row.get("display_name"))
            )
            for row in await self._by_ids("product.product", "id", {li.product_id for li in lines})
        }
        return OdooHistory(
            version=self._odoo.version,
            configs=configs,
            sessions=sessions,
            orders=orders,
            refunded_line_orders=refunded_line_orders,
            methods=methods,
            taxes=taxes,
            products=products,
            orders_in_open_sessions=len(waiting),
            open_sessions=len(open_ids),
        )


def _session(row: dict[str, Any]) -> OdooSession:
    start = odoo_moment(row.get("start_at")) or datetime.fromtimestamp(0, UTC)
    return OdooSession(
        id=int(row["id"]),
        name=str(row.get("name") or row["id"]),
        config_id=many2one_id(row.get("config_id")) or 0,
        user_name=many2one_name(row.get("user_id")),
        start_at=start,
        stop_at=odoo_moment(row.get("stop_at")),
        opening_cash=float(row.get("cash_register_balance_start") or 0.0),
        counted_cash=float(row.get("cash_register_balance_end_real") or 0.0),
    )


def _order(row: dict[str, Any]) -> OdooOrder:
    return OdooOrder(
        id=int(row["id"]),
        name=str(row.get("name") or row["id"]),
        pos_reference=text(row.get("pos_reference")),
        session_id=many2one_id(row.get("session_id")) or 0,
        date_order=odoo_moment(row.get("date_order")) or datetime.fromtimestamp(0, UTC),
        state=str(row.get("state")),
        amount_total=float(row.get("amount_total") or 0.0),
        partner_name=many2one_name(row.get("partner_id")),
        note=text(row.get("note")),
    )


def _with(
    order: OdooOrder, lines: tuple[OdooLine, ...], payments: tuple[OdooPayment, ...]
) -> OdooOrder:
    return OdooOrder(**{**order.__dict__, "lines": lines, "payments": payments})


def _line(row: dict[str, Any]) -> OdooLine:
    return OdooLine(
        id=int(row["id"]),
        order_id=many2one_id(row.get("order_id")) or 0,
        product_id=many2one_id(row.get("product_id")) or 0,
        product_name=text(row.get("full_product_name")),
        qty=float(row.get("qty") or 0.0),
        price_unit=float(row.get("price_unit") or 0.0),
        discount=float(row.get("discount") or 0.0),
        price_subtotal=float(row.get("price_subtotal") or 0.0),
        price_subtotal_incl=float(row.get("price_subtotal_incl") or 0.0),
        tax_ids=tuple(int(t) for t in row.get("tax_ids") or ()),
        refunded_line_id=many2one_id(row.get("refunded_orderline_id")),
    )


def _payment(row: dict[str, Any]) -> OdooPayment:
    return OdooPayment(
        id=int(row["id"]),
        order_id=many2one_id(row.get("pos_order_id")) or 0,
        method_id=many2one_id(row.get("payment_method_id")) or 0,
        amount=float(row.get("amount") or 0.0),
    )


def _method(row: dict[str, Any]) -> OdooPaymentMethod:
    return OdooPaymentMethod(
        id=int(row["id"]),
        name=str(row.get("name") or row["id"]),
        is_cash=bool(row.get("is_cash_count")),
        type=text(row.get("type")),
        integration=text(row.get("payment_method_type")),
    )
