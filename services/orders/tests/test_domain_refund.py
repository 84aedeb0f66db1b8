"""A refund's rules without a database: what is left of a line, its share, the order's state."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from orders.domain.amounts import Figures
from orders.domain.model import GivenBack, Order, OrderLine, Register
from orders.domain.refund import (
    new_refund,
    refund_lines,
    refund_payments,
    require_register_takes,
    state_after_refund,
)
from orders.http_models import RefundCreate
from shared.errors import InvalidRequestError

TENANT = uuid.UUID("00000000-0000-0000-0000-00000000000a")
ORDER = uuid.UUID("00000000-0000-0000-0000-0000000000b1")
LATTE = uuid.UUID("00000000-0000-0000-0000-0000000000c1")
CAKE = uuid.UUID("00000000-0000-0000-0000-0000000000c2")


def sold_line(line_id: uuid.UUID, position: int, quantity: str, total: int) -> OrderLine:
    net = total * 5 // 6
    return OrderLine(
        line_id=line_id,
        order_id=ORDER,
        position=position,
        product_ref=f"P{position}",
        product_name="Latte" if line_id == LATTE else "Cake",
        odoo_product_id=None,
        quantity=Decimal(quantity),
        unit_price=total // int(quantity),
        discount_percent=Decimal(0),
        tax_rate_percent=Decimal(20),
        prices_include_tax=True,
        gross=total,
        discount=0,
        net=net,
        tax=total - net,
        total=total,
    )


SOLD = {LATTE: sold_line(LATTE, 0, "3", 1200), CAKE: sold_line(CAKE, 1, "1", 600)}


def refund(*lines: tuple[uuid.UUID, str], paid: tuple[int, ...] = ()) -> RefundCreate:
    return RefundCreate.model_validate(
        {
            "id": str(uuid.uuid4()),
            "reason": "spilt",
            "lines": [{"order_line_id": str(i), "quantity": q} for i, q in lines],
            "payments": [
                {"method": "cash", "kind": "cash", "amount": {"amount": p, "currency": "EUR"}}
                for p in paid
            ],
        }
    )


def test_a_refund_of_one_of_three_gives_back_a_third_of_the_line() -> None:
    (line,) = refund_lines(refund((LATTE, "1")), SOLD, {}, TENANT)
    assert (line.quantity, line.net, line.tax, line.total) == (Decimal(1), 333, 67, 400)


def test_the_last_part_of_a_line_takes_what_earlier_refunds_left() -> None:
    earlier = {LATTE: GivenBack(Decimal(2), Figures(net=667, tax=133, total=800))}
    (line,) = refund_lines(refund((LATTE, "1")), SOLD, earlier, TENANT)
    assert (line.net, line.tax, line.total) == (1000 - 667, 200 - 133, 400)


def test_a_refund_cannot_exceed_what_is_left_of_the_sold_quantity() -> None:
    earlier = {LATTE: GivenBack(Decimal(2), Figures(net=667, tax=133, total=800))}
    with pytest.raises(InvalidRequestError) as refused:
        refund_lines(refund((LATTE, "2")), SOLD, earlier, TENANT)
    assert refused.value.field == "lines[0].quantity"
    assert "line 1 (Latte) has 1 left to refund (sold 3, already refunded 2)" in (
        refused.value.detail
    )


def test_a_line_listed_twice_in_one_refund_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="appears twice"):
        refund_lines(refund((CAKE, "1"), (CAKE, "1")), SOLD, {}, TENANT)


def test_a_line_the_order_does_not_have_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as refused:
        refund_lines(refund((uuid.uuid4(), "1")), SOLD, {}, TENANT)
    assert refused.value.field == "lines[0].order_line_id"


def test_refund_payments_must_add_up_to_the_refund() -> None:
    body = refund((CAKE, "1"), paid=(500,))
    with pytest.raises(InvalidRequestError, match=r"1\.00 EUR is missing"):
        refund_payments(body, "EUR", 600, TENANT)
    (payment,) = refund_payments(refund((CAKE, "1"), paid=(600,)), "EUR", 600, TENANT)
    assert (payment.amount, payment.kind) == (600, "cash")


def test_the_order_is_refunded_once_every_unit_of_every_line_is_back() -> None:
    cake = refund_lines(refund((CAKE, "1")), SOLD, {}, TENANT)
    assert state_after_refund(SOLD, {}, cake) == "partially_refunded"
    assert state_after_refund(SOLD, {LATTE: Decimal(3)}, cake) == "refunded"


TILL = Register(
    register_id=uuid.uuid4(),
    tenant_id=TENANT,
    shop_id=uuid.uuid4(),
    name="Till 2",
    receipt_prefix="T2",
    active=True,
    currency="GBP",
    timezone="Europe/London",
    business_day_cutoff=time(4),
    prices_include_tax=True,
    tenant_tier="starter",
)


def test_a_refund_is_paid_out_at_a_register_in_the_orders_currency() -> None:
    require_register_takes(TILL, "GBP")
    with pytest.raises(InvalidRequestError, match="Refund it at a register that takes EUR"):
        require_register_takes(TILL, "EUR")


def sold_order() -> Order:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    return Order(
        tenant_id=TENANT,
        order_id=ORDER,
        register_id=TILL.register_id,
        shop_id=TILL.shop_id,
        session_id=uuid.uuid4(),
        receipt_number="T2-1",
        business_date=date(2026, 3, 1),
        created_at=at,
        currency="GBP",
        net_total=1500,
        tax_total=300,
        total=1800,
        customer_ref=None,
        note=None,
        source="pos",
        sync_state="local",
        created_by="alice@test",
        request_fingerprint="f0",
        received_at=at,
    )


def test_a_refund_the_till_did_not_time_is_dated_by_the_shop_day_it_arrives_on() -> None:
    body = refund((CAKE, "1"))
    # 03:30 in London on the 5th is before the 04:00 cutoff: the 4th's trading day.
    arrived = datetime(2026, 3, 5, 3, 30, tzinfo=UTC)
    written = new_refund(
        body,
        sold_order(),
        TILL,
        Figures(net=500, tax=100, total=600),
        session_id=uuid.uuid4(),
        created_by="bob@test",
        request_fingerprint="f1",
        now=arrived,
    )
    assert (written.refund_id, written.order_id, written.currency) == (body.id, ORDER, "GBP")
    assert (written.created_at, written.business_date) == (arrived, date(2026, 3, 4))
    assert (written.net_total, written.tax_total, written.total) == (500, 100, 600)
    assert (written.sync_state, written.reason) == ("local", "spilt")


def test_a_refund_the_till_timed_keeps_the_tills_time() -> None:
    timed = refund((CAKE, "1")).model_copy(
        update={"created_at": datetime(2026, 3, 5, 9, tzinfo=UTC)}
    )
    written = new_refund(
        timed,
        sold_order(),
        TILL,
        Figures(net=500, tax=100, total=600),
        session_id=uuid.uuid4(),
        created_by="bob@test",
        request_fingerprint="f1",
        now=datetime(2026, 3, 6, 9, tzinfo=UTC),
    )
    assert (written.created_at, written.business_date) == (timed.created_at, date(2026, 3, 5))
