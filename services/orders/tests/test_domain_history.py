"""Rules of an imported Odoo history without a database: Odoo's figures kept once they add up,
each record once per batch, a refund that does not fit its original left out with a reason."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from orders.domain.history import (
    RefundSkipped,
    check_refund_fits,
    imported_line_id,
    imported_order,
    imported_order_id,
    imported_refund_rows,
    refuse_duplicates,
)
from orders.domain.model import CashSession, OrderLine, Register
from orders.http_models import OdooHistoryImport, OrderImport, RefundImport
from shared.errors import InvalidRequestError

TENANT = uuid.UUID("00000000-0000-0000-0000-00000000000a")
REGISTER = Register(
    register_id=uuid.UUID("00000000-0000-0000-0000-0000000000d1"),
    tenant_id=TENANT,
    shop_id=uuid.uuid4(),
    name="Till 1",
    receipt_prefix="T1",
    active=True,
    currency="EUR",
    timezone="Europe/Paris",
    business_day_cutoff=time(4),
    prices_include_tax=True,
    tenant_tier="pro",
)
SESSION = CashSession(
    session_id=uuid.uuid4(),
    tenant_id=TENANT,
    register_id=REGISTER.register_id,
    shop_id=REGISTER.shop_id,
    state="closed",
    business_date=date(2026, 3, 2),
    currency="EUR",
    opened_at=datetime(2026, 3, 2, 6, tzinfo=UTC),
    opened_by="Marie",
    opened_implicitly=False,
    opening_cash=0,
    closed_at=datetime(2026, 3, 2, 18, tzinfo=UTC),
    closed_by="Paul",
    counted_cash=0,
    expected_cash=None,
    closing_note=None,
    version=2,
    source="odoo_pulled",
    odoo_session_id=501,
    odoo_session_name="POS/00501",
    sync_state="synced",
    sync_error=None,
)


def eur(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


def odoo_order(odoo_id: int = 7, *, net: int = 851, total: int = 899, paid: int = 899) -> Any:
    return OrderImport.model_validate(
        {
            "odoo_order_id": odoo_id,
            "odoo_session_id": 501,
            "register_id": str(REGISTER.register_id),
            "receipt_number": f"Order 00501-001-{odoo_id:04d}",
            "created_at": "2026-03-02T09:15:00+01:00",
            "lines": [
                {
                    "odoo_line_id": 70 + odoo_id,
                    "product_ref": "TEA",
                    "product_name": "Tea",
                    "quantity": "3",
                    "unit_price": eur(333),
                    "discount_percent": "10",
                    "tax_rate_percent": "5.5",
                    "prices_include_tax": True,
                    "net": eur(net),
                    "total": eur(total),
                }
            ],
            "payments": [{"method": "Card", "kind": "card", "amount": eur(paid)}],
            "total": eur(total),
        }
    )


def odoo_refund(quantity: str = "1", *, refunded_line: int = 77) -> RefundImport:
    return RefundImport.model_validate(
        {
            "odoo_order_id": 9,
            "original_odoo_order_id": 7,
            "odoo_session_id": 501,
            "register_id": str(REGISTER.register_id),
            "created_at": "2026-03-02T10:00:00+01:00",
            "reason": "cold",
            "lines": [
                {
                    "odoo_line_id": 90,
                    "refunded_odoo_line_id": refunded_line,
                    "quantity": quantity,
                    "net": eur(284),
                    "total": eur(300),
                }
            ],
            "payments": [{"method": "Card", "kind": "card", "amount": eur(300)}],
            "total": eur(300),
        }
    )


def test_an_imported_order_keeps_odoos_figures_and_ids_derived_from_odoos() -> None:
    imported = imported_order(odoo_order(), "orders[0]", REGISTER, SESSION, created_by="admin")
    (line,) = imported.lines
    assert (line.net, line.tax, line.total) == (851, 48, 899)
    assert line.line_id == imported_line_id(TENANT, 77)
    assert imported.order.order_id == imported_order_id(TENANT, 7)
    assert imported.order.source == "odoo_pulled"
    assert imported.order.sync_state == "synced"
    assert imported.order.business_date == date(2026, 3, 2)
    assert (imported.order.odoo_order_id, imported.order.odoo_session_id) == (7, 501)


def test_an_imported_order_whose_payments_do_not_add_up_asks_for_them_net_of_change() -> None:
    with pytest.raises(InvalidRequestError) as refused:
        imported_order(odoo_order(paid=1000), "orders[0]", REGISTER, SESSION, "admin")
    assert refused.value.field == "orders[0].payments"
    assert "net of the change given" in refused.value.detail


def test_an_odoo_order_sent_twice_in_one_batch_is_refused_naming_both_places() -> None:
    batch = OdooHistoryImport(orders=[odoo_order(7), odoo_order(7)])
    with pytest.raises(InvalidRequestError) as refused:
        refuse_duplicates(batch)
    assert refused.value.field == "orders[1].odoo_order_id"
    assert "first at orders[0].odoo_order_id" in refused.value.detail


def test_an_odoo_order_is_a_sale_or_a_refund_not_both() -> None:
    refund = odoo_refund().model_copy(update={"odoo_order_id": 7})
    with pytest.raises(InvalidRequestError, match="a sale or a refund, not both"):
        refuse_duplicates(OdooHistoryImport(orders=[odoo_order(7)], refunds=[refund]))


def sold_tea() -> dict[uuid.UUID, OrderLine]:
    imported = imported_order(odoo_order(), "orders[0]", REGISTER, SESSION, "admin")
    return {line.line_id: line for line in imported.lines}


def test_an_imported_refund_fits_within_what_is_left_of_its_original() -> None:
    refund_id = uuid.uuid4()
    lines, payments = imported_refund_rows(odoo_refund("1"), "refunds[0]", refund_id, REGISTER)
    assert (lines[0].net, lines[0].tax, lines[0].total) == (284, 16, 300)
    assert payments[0].refund_id == refund_id
    check_refund_fits(odoo_refund("1"), lines, sold_tea(), {})


def test_an_imported_refund_beyond_what_is_left_is_skipped_with_its_reason() -> None:
    item = odoo_refund("2")
    lines, _ = imported_refund_rows(item, "refunds[0]", uuid.uuid4(), REGISTER)
    already = {imported_line_id(TENANT, 77): Decimal(2)}
    with pytest.raises(RefundSkipped) as skipped:
        check_refund_fits(item, lines, sold_tea(), already)
    assert skipped.value.reason == "exceeds_sold_quantity"
    assert "has 1 left to refund (sold 3, already refunded 2)" in skipped.value.detail


def test_an_imported_refund_of_a_line_its_original_lacks_is_skipped() -> None:
    item = odoo_refund(refunded_line=78)
    lines, _ = imported_refund_rows(item, "refunds[0]", uuid.uuid4(), REGISTER)
    with pytest.raises(RefundSkipped) as skipped:
        check_refund_fits(item, lines, sold_tea(), {})
    assert skipped.value.reason == "line_not_in_original"
