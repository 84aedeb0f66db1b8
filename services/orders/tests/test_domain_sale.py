"""A sale's rules without a database: pricing again, the till's figures checked, ids derived."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from orders.domain.model import Register, initial_sync_state, receipt_number
from orders.domain.sale import new_order, price_order, require_open_for_sale
from orders.http_models import OrderCreate
from shared.errors import ConflictError, InvalidRequestError

TENANT = uuid.UUID("00000000-0000-0000-0000-00000000000a")


def eur(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


TILL = Register(
    register_id=uuid.uuid4(),
    tenant_id=TENANT,
    shop_id=uuid.uuid4(),
    name="Till 1",
    receipt_prefix="CAFE1",
    active=True,
    currency="EUR",
    timezone="Europe/Paris",
    business_day_cutoff=time(4),
    prices_include_tax=True,
    tenant_tier="pro",
)


def order(
    *,
    line_total: int = 1200,
    total: int = 1200,
    paid: tuple[int, ...] = (1200,),
    created_at: datetime = datetime(2026, 3, 1, 12, tzinfo=UTC),
) -> Any:
    return OrderCreate.model_validate(
        {
            "id": str(uuid.UUID("00000000-0000-0000-0000-0000000000b1")),
            "register_id": str(uuid.uuid4()),
            "created_at": created_at.isoformat(),
            "lines": [
                {
                    "product_ref": "FLAT-WHITE",
                    "product_name": "Flat white",
                    "quantity": "2",
                    "unit_price": eur(600),
                    "tax_rate_percent": "20",
                    "prices_include_tax": True,
                    "total": eur(line_total),
                }
            ],
            "payments": [{"method": "cash", "kind": "cash", "amount": eur(p)} for p in paid],
            "total": eur(total),
        }
    )


def test_an_order_is_priced_again_here_and_its_line_and_payment_ids_are_derived() -> None:
    first = price_order(order(), "EUR", TENANT)
    again = price_order(order(), "EUR", TENANT)
    (line,) = first.lines
    assert (line.gross, line.net, line.tax, line.total) == (1200, 1000, 200, 1200)
    assert (first.figures.net, first.figures.tax, first.figures.total) == (1000, 200, 1200)
    assert [line.line_id for line in again.lines] == [line.line_id]
    assert again.payments[0].payment_id == first.payments[0].payment_id
    assert price_order(order(), "EUR", uuid.uuid4()).lines[0].line_id != line.line_id


def test_a_line_total_the_till_got_wrong_is_refused_with_how_the_line_comes_to_its_total() -> None:
    with pytest.raises(InvalidRequestError) as refused:
        price_order(order(line_total=1100, total=1100, paid=(1100,)), "EUR", TENANT)
    assert refused.value.field == "lines[0].total"
    assert "comes to 12.00 EUR (2 × 6.00 EUR, 0% discount, 20% tax included)" in (
        refused.value.detail
    )


def test_an_order_total_other_than_the_sum_of_its_lines_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as refused:
        price_order(order(total=1300, paid=(1300,)), "EUR", TENANT)
    assert refused.value.field == "total"


def test_payments_short_of_the_total_are_refused_saying_what_is_missing() -> None:
    with pytest.raises(InvalidRequestError, match=r"2\.00 EUR is missing"):
        price_order(order(paid=(500, 500)), "EUR", TENANT)


def test_payments_over_the_total_ask_for_the_change_on_the_cash_payment() -> None:
    with pytest.raises(InvalidRequestError, match="record change on the cash payment"):
        price_order(order(paid=(1500,)), "EUR", TENANT)


def test_an_order_in_another_currency_than_the_register_is_refused_at_its_first_amount() -> None:
    with pytest.raises(InvalidRequestError) as refused:
        price_order(order(), "GBP", TENANT)
    assert refused.value.field == "lines[0].unit_price"


def test_a_pro_tenants_sale_waits_for_odoo_and_a_starter_tenants_stays_here() -> None:
    assert initial_sync_state("pro") == "pending"
    assert initial_sync_state("starter") == "local"


def test_a_receipt_number_is_the_registers_prefix_and_its_counter() -> None:
    assert receipt_number("CAFE1", 42) == "CAFE1-42"


def test_a_sale_is_numbered_on_its_register_and_dated_by_its_shops_business_day() -> None:
    # 02:30 in Paris on the 2nd, before the 04:00 cutoff: still the 1st's trading day.
    body = order(created_at=datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    session_id = uuid.uuid4()
    new = new_order(
        body,
        TILL,
        price_order(body, "EUR", TENANT),
        session_id=session_id,
        sequence=42,
        created_by="alice@test",
        request_fingerprint="f1",
    )
    assert (new.receipt_number, new.receipt_sequence) == ("CAFE1-42", 42)
    assert new.business_date == date(2026, 3, 1)
    assert (new.tenant_id, new.shop_id, new.session_id) == (TENANT, TILL.shop_id, session_id)
    assert (new.net_total, new.tax_total, new.total) == (1000, 200, 1200)
    assert (new.source, new.sync_state, new.created_by) == ("pos", "pending", "alice@test")


def test_a_deactivated_register_takes_no_sale_until_an_admin_reactivates_it() -> None:
    require_open_for_sale(TILL)
    with pytest.raises(ConflictError, match="an admin must reactivate it"):
        require_open_for_sale(dataclasses.replace(TILL, active=False))
