"""What orders makes of a register event and shows of an order, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal

from orders.domain.model import Order, OrderLine, sync_error
from orders.events import register_replica
from orders.http_mappers import order_public
from orders.http_models import RefundLinePublic, RefundPublic
from shared.events.contracts import RegisterUpdated
from shared.money import SignedMoney

TENANT = uuid.UUID("00000000-0000-0000-0000-00000000000a")
ORDER = uuid.UUID("00000000-0000-0000-0000-0000000000b1")
AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_register_event_becomes_the_local_register_with_its_cutoff_as_a_time() -> None:
    data = RegisterUpdated(
        register_id=uuid.uuid4(),
        shop_id=uuid.uuid4(),
        name="Till 1",
        receipt_prefix="CAFE1",
        active=False,
        currency="EUR",
        timezone="Europe/Paris",
        business_day_cutoff="05:30",
        tenant_tier="pro",
    )
    register = register_replica(TENANT, data)
    assert (register.tenant_id, register.register_id) == (TENANT, data.register_id)
    assert register.business_day_cutoff == time(5, 30)
    assert (register.active, register.tenant_tier, register.prices_include_tax) == (
        False,
        "pro",
        True,
    )


def test_a_failed_sync_keeps_the_error_class_and_message() -> None:
    assert sync_error("ValidationError", "no tax 21%") == "ValidationError: no tax 21%"


def _money(amount: int) -> SignedMoney:
    return SignedMoney(amount=amount, currency="EUR")


def _line(position: int, quantity: str) -> OrderLine:
    return OrderLine(
        line_id=uuid.uuid4(),
        order_id=ORDER,
        position=position,
        product_ref=f"P{position}",
        product_name=f"Product {position}",
        odoo_product_id=None,
        quantity=Decimal(quantity),
        unit_price=300,
        discount_percent=Decimal(0),
        tax_rate_percent=Decimal(20),
        prices_include_tax=True,
        gross=300 * int(quantity),
        discount=0,
        net=250 * int(quantity),
        tax=50 * int(quantity),
        total=300 * int(quantity),
    )


def _refund(*lines: tuple[OrderLine, str]) -> RefundPublic:
    return RefundPublic(
        id=uuid.uuid4(),
        order_id=ORDER,
        register_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        business_date=date(2026, 3, 1),
        created_at=AT,
        state="refunded",
        reason="cold",
        lines=[
            RefundLinePublic(
                id=uuid.uuid4(),
                order_line_id=line.line_id,
                quantity=quantity,
                net=_money(0),
                tax=_money(0),
                total=_money(0),
            )
            for line, quantity in lines
        ],
        payments=[],
        net_total=_money(0),
        tax_total=_money(0),
        total=_money(0),
        source="pos",
        sync_state="local",
        sync_error=None,
        odoo_order_id=None,
    )


def test_an_order_shows_on_each_line_what_all_its_refunds_gave_back() -> None:
    coffee, cake = _line(0, "3"), _line(1, "1")
    order = Order(
        tenant_id=TENANT,
        order_id=ORDER,
        register_id=uuid.uuid4(),
        shop_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        receipt_number="CAFE1-1",
        business_date=date(2026, 3, 1),
        created_at=AT,
        currency="EUR",
        net_total=1000,
        tax_total=200,
        total=1200,
        customer_ref=None,
        note=None,
        source="pos",
        sync_state="local",
        created_by="alice@test",
        request_fingerprint="f0",
        received_at=AT,
    )
    refunds = [_refund((coffee, "1")), _refund((coffee, "1.5"), (cake, "0"))]

    shown = order_public(order, [coffee, cake], [], refunds)

    assert [line.refunded_quantity for line in shown.lines] == ["2.5", "0"]
    assert len(shown.refunds) == 2
