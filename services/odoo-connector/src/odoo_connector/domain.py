"""What the connector decides without I/O: failure kinds, references, and Odoo order payloads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from odoo_connector.odoo_client import OdooError, OdooProtocolError, UnsupportedOdooVersion
from shared.consumer import PermanentHandlingError
from shared.events.contracts import (
    OrderLineState,
    OrderPlaced,
    OrderRefunded,
    PaymentState,
    RegisterState,
)
from shared.money import currency_exponent, round_minor

# Failures Odoo itself retries server-side and a client should retry later (odoo-api.md 7).
_CONCURRENCY_ERRORS = frozenset(
    {
        "psycopg2.errors.SerializationFailure",
        "psycopg2.errors.DeadlockDetected",
        "psycopg2.errors.LockNotAvailable",
        "psycopg2.extensions.TransactionRollbackError",
        "psycopg2.OperationalError",
        "odoo.exceptions.ConcurrencyError",
    }
)
# Answers whose text does not change by waiting: the message is dead-lettered at once.
_PERMANENT_PREFIXES = ("odoo.exceptions.", "builtins.")
NO_OPEN_SESSION = "No open session available"


class OdooConcurrencyFailure(Exception):  # noqa: N818 - Odoo's own name for it
    """Odoo gave up on a serialization or lock conflict: transient."""


class OdooSessionGone(Exception):  # noqa: N818
    """The Odoo session we had for the register was closed under us: open another, retry."""


class OdooRejectedCallError(PermanentHandlingError):
    """Odoo refused the call for a reason that waiting cannot cure (validation, invalid field)."""

    def __init__(self, odoo_error: str, message: str) -> None:
        super().__init__(f"{odoo_error}: {message}")
        self.odoo_error = odoo_error
        self.odoo_message = message


class OdooValidationError(OdooRejectedCallError):
    pass


class OdooInvalidFieldError(OdooRejectedCallError):
    pass


class OdooUserError(OdooRejectedCallError):
    pass


class OdooCredentialsRejected(Exception):  # noqa: N818
    """Odoo refused the stored login or key; the tenant's messages wait until it is fixed."""


class MissingProductMappingError(PermanentHandlingError):
    pass


class MissingPaymentMappingError(PermanentHandlingError):
    pass


class OrderLeftInDraftError(PermanentHandlingError):
    """Odoo accepted the order but kept it as draft (underpaid): it is not a sale in Odoo."""


class UnsupportedVersionError(PermanentHandlingError):
    pass


class RefundNotMappableError(PermanentHandlingError):
    pass


class SessionCloseRefusedError(Exception):
    """Odoo refused to close a session (a missing loss or profit account, draft orders) or
    answered with the Force Close wizard (the closing entry does not balance). Transient: what
    Odoo needs is set up in Odoo, and the close is tried again on the retry schedule."""


class TemplatePosConfigMissingError(PermanentHandlingError):
    """The tenant's Odoo has no pos.config to clone a new register from."""


class CashJournalCodesExhaustedError(PermanentHandlingError):
    """No free short code is left for a new register's cash journal."""


class PosConfigMissingError(PermanentHandlingError):
    """The register's pos.config is not in Odoo (deleted there), or it never had one."""


def classify(error: Exception) -> Exception:
    """The error as the retry policy must see it: permanent, transient, or as it is."""
    if isinstance(error, UnsupportedOdooVersion):
        return UnsupportedVersionError(str(error))
    if isinstance(error, OdooProtocolError):
        return OdooRejectedCallError("protocol", str(error))
    if not isinstance(error, OdooError):
        return error
    if error.name in _CONCURRENCY_ERRORS or error.name.startswith("psycopg2."):
        return OdooConcurrencyFailure(f"{error.name}: {error.message.strip()}")
    if error.name == "odoo.exceptions.AccessDenied":
        return OdooCredentialsRejected("Odoo refused the stored credentials (Access Denied)")
    if NO_OPEN_SESSION in error.message:
        return OdooSessionGone(error.message)
    if error.name == "odoo.exceptions.ValidationError":
        return OdooValidationError(error.name, error.message)
    if error.name == "builtins.ValueError" and "Invalid field" in error.message:
        return OdooInvalidFieldError(error.name, error.message)
    if error.name == "odoo.exceptions.UserError":
        return OdooUserError(error.name, error.message)
    if error.name.startswith(_PERMANENT_PREFIXES):
        return OdooRejectedCallError(error.name, error.message)
    return error


def order_reference(receipt_number: str) -> str:
    """Our receipt number as Odoo's `pos_reference` (16/17 look a re-send up by it)."""
    return f"Order {receipt_number}"


def refund_reference(refund_id: UUID) -> str:
    return f"Refund {refund_id}"


def sequence_number(receipt_number: str) -> int:
    digits = re.findall(r"\d+", receipt_number)
    return int(digits[-1]) if digits else 0


def amount(minor: int, currency: str) -> float:
    return float(Decimal(minor).scaleb(-currency_exponent(currency)))


def minor_units(value: float, currency: str) -> int:
    """An Odoo amount (a float in currency units) in minor units."""
    return round_minor(Decimal(repr(value)).scaleb(currency_exponent(currency)))


def odoo_datetime(moment: datetime) -> str:
    """Odoo reads a naive datetime as UTC (odoo-api.md 4.5); a tablet's offset must not leak in."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------- taxes

TaxKey = tuple[Decimal, bool]


class TaxNotMappedError(PermanentHandlingError):
    """A line's tax rate has no sale tax in the tenant's Odoo."""


def tax_key(rate_percent: str | Decimal | float, included: bool) -> TaxKey:
    """A rate as a comparable key: "10", "10.0" and 10.0 are one rate."""
    rate = Decimal(str(rate_percent)).normalize()
    return (rate if rate != 0 else Decimal(0), included)


def describe_rate(key: TaxKey) -> str:
    rate, included = key
    return f"{format(rate, 'f')} % {'included in' if included else 'added to'} the price"


@dataclass(frozen=True)
class OdooSaleTax:
    id: int
    name: str
    amount: float
    amount_type: str
    price_include: bool


@dataclass(frozen=True)
class TaxMapping:
    """One rate's Odoo tax, and whether the tenant's settings named it or it was found."""

    key: TaxKey
    tax: OdooSaleTax
    explicit: bool


@dataclass(frozen=True)
class TaxMap:
    """Which Odoo sale tax a line's rate and price-include flag go to, for one tenant."""

    mappings: dict[TaxKey, TaxMapping]
    # Every sale tax the tenant's Odoo has, by id: a refund line takes its original's taxes.
    taxes: dict[int, OdooSaleTax]

    def tax_ids(self, rate_percent: str, included: bool) -> tuple[int, ...]:
        key = tax_key(rate_percent, included)
        mapping = self.mappings.get(key)
        if mapping is not None:
            return (mapping.tax.id,)
        if key[0] == 0:
            # An untaxed line computes the same with no tax at all; 16/17 only fill in the
            # product's taxes when `tax_ids` is absent, never when it is sent empty.
            return ()
        raise TaxNotMappedError(
            f"the tenant's Odoo has no sale tax of {describe_rate(key)}: create a percent "
            "sale tax of that rate in Odoo (with the same price-include setting), or map the "
            "rate to an Odoo tax in the tenant's Odoo settings (tax_mapping)"
        )

    def included(self, tax_ids: tuple[int, ...]) -> bool:
        return any(self.taxes[t].price_include for t in tax_ids if t in self.taxes)


def tax_map(odoo_taxes: list[OdooSaleTax], explicit: list[dict[str, Any]]) -> TaxMap:
    """Explicit mappings first; every other rate goes to the oldest percent sale tax of that
    amount and price-include setting."""
    by_id = {tax.id: tax for tax in odoo_taxes}
    mappings: dict[TaxKey, TaxMapping] = {}
    for tax in sorted(odoo_taxes, key=lambda t: t.id):
        if tax.amount_type != "percent":
            continue
        key = tax_key(tax.amount, tax.price_include)
        mappings.setdefault(key, TaxMapping(key, tax, explicit=False))
    for entry in explicit:
        key = tax_key(entry["rate_percent"], bool(entry["prices_include_tax"]))
        named = by_id.get(int(entry["odoo_tax_id"]))
        if named is None:
            raise TaxNotMappedError(
                f"the tenant's Odoo settings map {describe_rate(key)} to Odoo tax "
                f"{entry['odoo_tax_id']}, which is not an active sale tax in its Odoo"
            )
        mappings[key] = TaxMapping(key, named, explicit=True)
    return TaxMap(mappings, by_id)


def discount_for_odoo(
    price_unit_minor: int, quantity: Decimal, discount_percent: Decimal, discounted_minor: int
) -> float:
    """The discount percent under which Odoo's line base (price_unit × (1 − d/100) × qty, rounded
    once) is our discounted amount: the till's own percent when that rounds the same way, else
    the exact percent our figures carry (we round the discount, Odoo the discounted price, so a
    half-cent tie can fall the other way)."""
    full = quantity * price_unit_minor
    if round_minor(full * (1 - discount_percent / 100)) == discounted_minor or full == 0:
        return float(discount_percent)
    return float((1 - Decimal(discounted_minor) / full) * 100)


@dataclass(frozen=True)
class SessionTarget:
    odoo_session_id: int
    pricelist_id: int | None
    user_id: int


@dataclass(frozen=True)
class OdooLine:
    """One line as Odoo is to receive it."""

    product_id: int
    qty: float
    price_unit: float
    discount: float
    price_subtotal: float
    price_subtotal_incl: float
    name: str
    tax_ids: tuple[int, ...] = ()
    refunded_orderline_id: int | None = None
    uuid: str | None = None

    def values(self, version: int) -> list[Any]:
        values: dict[str, Any] = {
            "product_id": self.product_id,
            "qty": self.qty,
            "price_unit": self.price_unit,
            "discount": self.discount,
            "price_subtotal": self.price_subtotal,
            "price_subtotal_incl": self.price_subtotal_incl,
            "full_product_name": self.name,
            # Always sent, even empty: 16/17 would otherwise take the product's taxes and 18
            # would book none (odoo-api.md 4.5).
            "tax_ids": [[6, False, list(self.tax_ids)]],
        }
        if self.refunded_orderline_id is not None:
            values["refunded_orderline_id"] = self.refunded_orderline_id
        if version == 18 and self.uuid is not None:
            values["uuid"] = self.uuid
        return [0, 0, values]


@dataclass(frozen=True)
class OdooPayment:
    payment_method_id: int
    amount: float


@dataclass(frozen=True)
class OdooOrder:
    """An order or refund ready for `create_from_ui` (16/17) or `sync_from_ui` (18)."""

    uuid: str
    reference: str
    sequence_number: int
    placed_at: datetime
    lines: tuple[OdooLine, ...]
    payments: tuple[OdooPayment, ...]
    amount_total: float
    amount_tax: float

    @property
    def amount_paid(self) -> float:
        return round(sum(p.amount for p in self.payments), 6)

    def payload(self, version: int, target: SessionTarget) -> dict[str, Any]:
        date = odoo_datetime(self.placed_at)
        lines = [line.values(version) for line in self.lines]
        common: dict[str, Any] = {
            "name": self.reference,
            "user_id": target.user_id,
            "partner_id": False,
            "sequence_number": self.sequence_number,
            "fiscal_position_id": False,
            "pricelist_id": target.pricelist_id or False,
            "amount_total": self.amount_total,
            "amount_tax": self.amount_tax,
            "amount_paid": self.amount_paid,
            # Payments carry what was kept, never what was tendered: no change line in Odoo.
            "amount_return": 0,
            "to_invoice": False,
            "lines": lines,
        }
        if version == 18:
            return {
                **common,
                "uuid": self.uuid,
                "access_token": self.uuid,
                "session_id": target.odoo_session_id,
                "state": "paid",
                "date_order": date,
                "payment_ids": [
                    [
                        0,
                        0,
                        {
                            "payment_method_id": p.payment_method_id,
                            "amount": p.amount,
                            "payment_date": date,
                        },
                    ]
                    for p in self.payments
                ],
            }
        data = {
            **common,
            "pos_session_id": target.odoo_session_id,
            "creation_date" if version == 16 else "date_order": date,
            "statement_ids": [
                [0, 0, {"name": date, "payment_method_id": p.payment_method_id, "amount": p.amount}]
                for p in self.payments
            ],
        }
        return {"id": self.uuid, "to_invoice": False, "data": data}


def order_lines(
    order: OrderPlaced, product_ids: dict[str, int], taxes: TaxMap
) -> tuple[OdooLine, ...]:
    """price_unit in the meaning of the line's tax (with tax when it is price-included, as the
    till priced it), so that Odoo's own computation gives our net, tax and total."""

    def line(state: OrderLineState) -> OdooLine:
        quantity = Decimal(state.quantity)
        discounted = state.total if state.prices_include_tax else state.net
        return OdooLine(
            product_id=state.odoo_product_id or product_ids[state.product_ref],
            qty=float(quantity),
            price_unit=amount(state.unit_price, order.currency),
            discount=discount_for_odoo(
                state.unit_price, quantity, Decimal(state.discount_percent), discounted
            ),
            price_subtotal=amount(state.net, order.currency),
            price_subtotal_incl=amount(state.total, order.currency),
            name=state.product_name,
            tax_ids=taxes.tax_ids(state.tax_rate_percent, state.prices_include_tax),
            uuid=str(state.line_id),
        )

    return tuple(line(state) for state in order.lines)


@dataclass(frozen=True)
class PaymentMethodMap:
    """Which Odoo payment method a payment of a register goes to.

    At a register whose pos.config the connector created with its own cash method, a cash
    payment goes to that method: Odoo refuses the tenant's cash method (the template's) on any
    other pos.config. A payment's explicit `odoo_payment_method_id` wins only if the register's
    pos.config was created with it; a non-cash payment maps as anywhere else. Elsewhere
    (registers adopted or linked to an existing pos.config), the explicit id, else the
    tenant's mapping of the payment's code."""

    by_code: dict[str, int]
    own_cash: int | None = None
    register_methods: frozenset[int] = frozenset()

    def _to_own_cash(self, payment: PaymentState) -> bool:
        if self.own_cash is None or payment.kind != "cash":
            return False
        explicit = payment.odoo_payment_method_id
        return explicit is None or explicit not in self.register_methods

    def method_of(self, payment: PaymentState) -> int:
        if self._to_own_cash(payment):
            assert self.own_cash is not None
            return self.own_cash
        return payment.odoo_payment_method_id or self.by_code[payment.method]

    def unmapped(self, payments: list[PaymentState]) -> list[str]:
        """The codes of payments that name no method and whose code the tenant has not mapped."""
        return sorted(
            {
                p.method
                for p in payments
                if p.odoo_payment_method_id is None and not self._to_own_cash(p)
            }
            - set(self.by_code)
        )


def odoo_payments(
    payments: list[PaymentState], methods: PaymentMethodMap, currency: str, sign: int = 1
) -> tuple[OdooPayment, ...]:
    return tuple(
        OdooPayment(
            payment_method_id=methods.method_of(p),
            amount=sign * amount(p.amount, currency),
        )
        for p in payments
    )


def odoo_order(
    order: OrderPlaced, product_ids: dict[str, int], methods: PaymentMethodMap, taxes: TaxMap
) -> OdooOrder:
    return OdooOrder(
        uuid=str(order.order_id),
        reference=order_reference(order.receipt_number),
        sequence_number=sequence_number(order.receipt_number),
        placed_at=order.created_at,
        lines=order_lines(order, product_ids, taxes),
        payments=odoo_payments(order.payments, methods, order.currency),
        amount_total=amount(order.total, order.currency),
        amount_tax=amount(order.tax_total, order.currency),
    )


@dataclass(frozen=True)
class OriginalLine:
    """A line of the refunded order as it is in Odoo."""

    odoo_line_id: int
    product_id: int
    price_unit: float
    discount: float = 0.0
    tax_ids: tuple[int, ...] = ()


def odoo_refund(
    refund: OrderRefunded,
    original_lines: dict[UUID, OriginalLine],
    methods: PaymentMethodMap,
    taxes: TaxMap,
) -> OdooOrder:
    """Negative quantities and amounts, each line pointing at the line it gives back, with its
    price, discount and taxes, so that Odoo books the refund as the till apportioned it."""
    lines = []
    for state in refund.lines:
        original = original_lines.get(state.order_line_id)
        if original is None:
            raise RefundNotMappableError(
                f"refund line {state.refund_line_id} gives back order line {state.order_line_id}, "
                "which the original order in Odoo does not have"
            )
        quantity = -Decimal(state.quantity)
        discounted = -(state.total if taxes.included(original.tax_ids) else state.net)
        lines.append(
            OdooLine(
                product_id=original.product_id,
                qty=float(quantity),
                price_unit=original.price_unit,
                discount=discount_for_odoo(
                    minor_units(original.price_unit, refund.currency),
                    quantity,
                    Decimal(repr(original.discount)),
                    discounted,
                ),
                price_subtotal=-amount(state.net, refund.currency),
                price_subtotal_incl=-amount(state.total, refund.currency),
                name=state.product_ref,
                tax_ids=original.tax_ids,
                refunded_orderline_id=original.odoo_line_id,
                uuid=str(state.refund_line_id),
            )
        )
    return OdooOrder(
        uuid=str(refund.refund_id),
        reference=refund_reference(refund.refund_id),
        sequence_number=0,
        placed_at=refund.created_at,
        lines=tuple(lines),
        payments=odoo_payments(refund.payments, methods, refund.currency, sign=-1),
        amount_total=-amount(refund.total, refund.currency),
        amount_tax=-amount(refund.tax_total, refund.currency),
    )


# ---------------------------------------------------------------- registers (pos.config)

# A clone copies the template's relations only: its booleans include module_pos_* (which install
# modules) and admin-only receipt texts, which a new register must not inherit blindly.
_CLONED_TYPES = ("many2one", "many2many")
PAYMENT_METHOD_MODEL = "pos.payment.method"


def many2one_id(value: Any) -> int | None:
    """A many2one as read (`[id, name]`, a bare id, or false) as its id."""
    if isinstance(value, list) and value:
        return int(value[0])
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def clonable_fields(fields: dict[str, dict[str, Any]]) -> list[str]:
    """The relational fields of pos.config a create may set, as this Odoo's `fields_get`
    describes them: stored, writable, not related. Anything else this Odoo lacks (the
    `stock_location_id` of old versions) is never named, since only its own fields are."""
    return sorted(
        name
        for name, info in fields.items()
        if info.get("type") in _CLONED_TYPES
        and not info.get("readonly")
        and info.get("store", True)
        and not info.get("related")
    )


def payment_method_ids_of(template: dict[str, Any], fields: dict[str, dict[str, Any]]) -> set[int]:
    return {
        int(i)
        for name, value in template.items()
        if fields.get(name, {}).get("type") == "many2many"
        and fields[name].get("relation") == PAYMENT_METHOD_MODEL
        for i in value or []
    }


def pos_config_clone(
    template: dict[str, Any],
    fields: dict[str, dict[str, Any]],
    cash_method_ids: set[int],
    register: RegisterState,
    own_cash_method_id: int | None = None,
) -> dict[str, Any]:
    """The create values of a register's pos.config: the template's relations, our name.

    A cash payment method belongs to one pos.config only (odoo-api.md 5), so the template's
    cash methods stay with the template: the clone shares its other methods and takes the
    register's own cash method instead."""
    values: dict[str, Any] = {}
    for name in clonable_fields(fields):
        if name not in template:
            continue
        info = fields[name]
        if info["type"] == "many2one":
            related = many2one_id(template[name])
            if related is not None:
                values[name] = related
            continue
        ids = [int(i) for i in template[name] or []]
        if info.get("relation") == PAYMENT_METHOD_MODEL:
            ids = [i for i in ids if i not in cash_method_ids]
            if own_cash_method_id is not None:
                ids.append(own_cash_method_id)
        values[name] = [[6, 0, ids]]
    values["name"] = register.name
    if "active" in fields:
        values["active"] = register.active
    return values


def pos_config_changes(current: dict[str, Any], register: RegisterState) -> dict[str, Any]:
    """What a write must change for the pos.config to carry the register's name and state."""
    wanted = {"name": register.name, "active": register.active}
    return {key: value for key, value in wanted.items() if current.get(key) != value}


# Odoo's own codes for new cash journals (account.journal.get_next_bank_cash_default_code), then
# room for many more registers; journal codes are at most 5 characters and unique per company.
_CASH_JOURNAL_CODES = tuple(f"CSH{n}" for n in range(1, 100)) + tuple(
    f"C{n:04d}" for n in range(100, 10000)
)


def cash_journal_code(taken: set[str]) -> str:
    """The first cash journal code neither the company's journals nor another register use."""
    upper = {code.upper() for code in taken}
    for code in _CASH_JOURNAL_CODES:
        if code not in upper:
            return code
    raise CashJournalCodesExhaustedError(
        f"every cash journal code from CSH1 to C9999 is taken ({len(taken)} codes in use)"
    )
