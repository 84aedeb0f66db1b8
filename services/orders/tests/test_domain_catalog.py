"""Which catalog products and customers an order may name, without I/O."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from orders.domain.catalog import CatalogProduct, Customer, check_customer, check_products
from orders.domain.identity import fingerprint
from orders.http_models import OrderCreate
from shared.errors import InvalidRequestError

TENANT, SHOP, REGISTER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def _product(**overrides: object) -> CatalogProduct:
    fields: dict[str, object] = {
        "product_id": uuid.uuid4(),
        "tenant_id": TENANT,
        "reference": "FW",
        "name": "Flat white",
        "shop_ids": [],
        "register_ids": [],
        "active": True,
        "odoo_product_id": None,
        **overrides,
    }
    return CatalogProduct(**fields)  # type: ignore[arg-type]


def _check(*products: CatalogProduct, named: list[uuid.UUID | None] | None = None) -> None:
    ids = named if named is not None else [p.product_id for p in products]
    check_products(ids, {p.product_id: p for p in products}, register_id=REGISTER, shop_id=SHOP)


def test_lines_without_a_product_id_need_no_catalog() -> None:
    _check(named=[None, None])


def test_product_sold_everywhere_at_its_shop_or_at_its_register_is_accepted() -> None:
    _check(_product(), _product(shop_ids=[SHOP]), _product(register_ids=[REGISTER]))


def test_archived_product_is_refused_naming_its_line() -> None:
    archived = _product(active=False, reference="OLD")
    with pytest.raises(InvalidRequestError) as refused:
        _check(archived, named=[None, archived.product_id])
    assert refused.value.field == "lines[1].product_id"
    assert "Line 2 names product OLD" in refused.value.detail
    assert "archived" in refused.value.detail


def test_product_offered_only_at_another_shop_is_refused() -> None:
    elsewhere = _product(shop_ids=[uuid.uuid4()], register_ids=[uuid.uuid4()])
    with pytest.raises(InvalidRequestError) as refused:
        _check(elsewhere)
    assert f"not sold at register {REGISTER}" in refused.value.detail


def test_unknown_product_is_refused_with_a_retry_hint() -> None:
    missing = uuid.uuid4()
    with pytest.raises(InvalidRequestError) as refused:
        _check(named=[missing])
    assert str(missing) in refused.value.detail
    assert "retry shortly" in refused.value.detail


def test_archived_or_unknown_customer_is_refused() -> None:
    customer_id = uuid.uuid4()
    archived = Customer(customer_id, TENANT, "Anna", active=False, odoo_partner_id=None)
    with pytest.raises(InvalidRequestError, match="archived"):
        check_customer(customer_id, archived)
    with pytest.raises(InvalidRequestError, match="not known"):
        check_customer(customer_id, None)
    check_customer(None, None)


def test_an_order_fingerprinted_before_the_catalog_fields_keeps_its_fingerprint() -> None:
    """A tablet's retry of an order stored before product_id and customer_id existed must still
    be recognised as its replay, so empty new fields are not part of the fingerprint."""
    body = OrderCreate.model_validate(
        {
            "id": str(uuid.uuid4()),
            "register_id": str(REGISTER),
            "created_at": "2026-03-10T09:00:00+00:00",
            "lines": [
                {
                    "product_ref": "FW",
                    "product_name": "Flat white",
                    "quantity": "1",
                    "unit_price": {"amount": 350, "currency": "EUR"},
                    "tax_rate_percent": "10",
                    "prices_include_tax": True,
                    "total": {"amount": 350, "currency": "EUR"},
                }
            ],
            "payments": [],
            "total": {"amount": 350, "currency": "EUR"},
        }
    )
    before_the_catalog = body.model_dump(mode="json")
    del before_the_catalog["customer_id"]
    for line in before_the_catalog["lines"]:
        del line["product_id"]
    canonical = json.dumps(before_the_catalog, sort_keys=True, separators=(",", ":"))

    assert fingerprint(body) == hashlib.sha256(canonical.encode()).hexdigest()
    named = body.model_copy(update={"customer_id": uuid.uuid4()})
    assert fingerprint(named) != fingerprint(body)
