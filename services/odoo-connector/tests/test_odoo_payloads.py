"""What an order looks like to Odoo: times in UTC, each line with its Odoo tax, and a price and
discount from which Odoo's own arithmetic gives our figures."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odoo_connector.domain import (
    NamedTax,
    OdooSaleTax,
    PaymentMethodMap,
    SessionTarget,
    TaxNotMappedError,
    discount_for_odoo,
    odoo_datetime,
    odoo_order,
    tax_map,
)
from shared.events.contracts import OrderLineState, OrderPlaced, PaymentState

TAXES = [
    OdooSaleTax(1, "15%", 15.0, "percent", price_include=False),
    OdooSaleTax(4, "10% incl.", 10.0, "percent", price_include=True),
    OdooSaleTax(5, "10%", 10.0, "percent", price_include=False),
    OdooSaleTax(6, "20%", 20.0, "percent", price_include=False),
    OdooSaleTax(7, "10% incl. (bis)", 10.0, "percent", price_include=True),
    OdooSaleTax(8, "Eco fee", 0.5, "fixed", price_include=False),
]


def _line(rate: str, included: bool, discount: str = "0") -> OrderLineState:
    return OrderLineState(
        line_id=uuid.uuid4(),
        product_ref="ESP",
        product_name="Espresso",
        odoo_product_id=3,
        quantity="1",
        unit_price=150,
        discount_percent=discount,
        tax_rate_percent=rate,
        prices_include_tax=included,
        gross=150,
        discount=0,
        net=150,
        tax=0,
        total=150,
    )


def _order(*lines: OrderLineState, created_at: datetime | None = None) -> OrderPlaced:
    return OrderPlaced(
        order_id=uuid.uuid4(),
        register_id=uuid.uuid4(),
        shop_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        receipt_number="T1-000001",
        business_date=date(2026, 11, 21),
        created_at=created_at or datetime.now(UTC),
        currency="EUR",
        lines=list(lines),
        payments=[PaymentState(payment_id=uuid.uuid4(), method="card", kind="card", amount=150)],
        net_total=150,
        tax_total=0,
        total=150,
    )


def _payload(order: OrderPlaced, version: int = 17) -> dict[str, object]:
    mapped = odoo_order(order, {}, PaymentMethodMap({"card": 2}), tax_map(TAXES, []))
    return mapped.payload(version, SessionTarget(9, 1, 2))


def test_a_late_evening_sale_goes_to_odoo_as_naive_utc() -> None:
    evening = datetime(2026, 11, 21, 23, 30, tzinfo=timezone(timedelta(hours=1)))
    assert odoo_datetime(evening) == "2026-11-21 22:30:00"
    order = _order(_line("10", True), created_at=evening)
    data = _payload(order, 17)["data"]
    assert isinstance(data, dict)
    assert data["date_order"] == "2026-11-21 22:30:00"
    assert data["statement_ids"][0][2]["name"] == "2026-11-21 22:30:00"
    assert _payload(order, 18)["date_order"] == "2026-11-21 22:30:00"


def test_each_line_carries_the_oldest_odoo_tax_of_its_rate_and_price_include() -> None:
    order = _order(_line("10", True), _line("10.0", False), _line("20", False))
    lines = _payload(order, 18)["lines"]
    assert isinstance(lines, list)
    assert [line[2]["tax_ids"] for line in lines] == [
        [[6, False, [4]]],
        [[6, False, [5]]],
        [[6, False, [6]]],
    ]


def test_an_untaxed_line_is_sent_with_no_taxes_rather_than_the_products() -> None:
    lines = _payload(_order(_line("0", True)), 16)["data"]["lines"]  # type: ignore[index]
    assert lines[0][2]["tax_ids"] == [[6, False, []]]


def test_a_mapping_in_the_settings_wins_over_the_tax_found_by_rate() -> None:
    taxes = tax_map(TAXES, [NamedTax("10", prices_include_tax=True, odoo_tax_id=7)])
    assert taxes.tax_ids("10", True) == (7,)
    assert taxes.tax_ids("10", False) == (5,)


def test_a_rate_odoo_has_no_sale_tax_for_is_refused_naming_the_rate() -> None:
    with pytest.raises(TaxNotMappedError, match=r"no sale tax of 5\.5 % added to the price"):
        tax_map(TAXES, []).tax_ids("5.5", False)
    with pytest.raises(TaxNotMappedError, match=r"15 % included in the price"):
        tax_map(TAXES, []).tax_ids("15", True)


def test_a_mapping_to_a_tax_odoo_does_not_have_is_refused_naming_it() -> None:
    with pytest.raises(TaxNotMappedError, match="Odoo tax 99, which is not an active sale tax"):
        tax_map(TAXES, [NamedTax("10", prices_include_tax=True, odoo_tax_id=99)])


def test_the_tills_discount_goes_as_it_is_when_odoo_rounds_it_the_same() -> None:
    assert discount_for_odoo(350, Decimal(2), Decimal(10), 630) == 10.0


def test_a_discount_whose_half_cent_odoo_would_round_the_other_way_goes_as_its_exact_share() -> (
    None
):
    # 5 % of 1.50: we round the discount (0.075 -> 0.08, so 1.42), Odoo the price (1.425 -> 1.43).
    discount = discount_for_odoo(150, Decimal(1), Decimal(5), 142)
    assert discount != 5.0
    assert _odoo_base(150, Decimal(1), discount) == 142


def _odoo_base(price_unit_minor: int, quantity: Decimal, discount: float) -> int:
    """Odoo's line base, in floats as Odoo computes it, rounded half up to the cent."""
    price = price_unit_minor / 100 * (1 - discount / 100)
    value = Decimal(repr(price * float(quantity)))
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(
    unit=st.integers(min_value=1, max_value=50_000),
    quantity=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(50), places=3),
    percent=st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2),
)
def test_odoo_computes_our_discounted_amount_from_what_we_send(
    unit: int, quantity: Decimal, percent: Decimal
) -> None:
    gross = int((quantity * unit).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    ours = gross - int((gross * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert _odoo_base(unit, quantity, discount_for_odoo(unit, quantity, percent, ours)) == ours
