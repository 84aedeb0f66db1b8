"""Create and PATCH bodies as the rows they write: without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from registers.domain.sync import SyncStatus
from registers.http_mappers import (
    new_payment_method,
    new_register,
    new_shop,
    new_tenant,
    new_token,
    shop_patch_fields,
)
from registers.http_models import (
    PaymentMethodCreate,
    RegisterCreate,
    ShopCreate,
    ShopPatch,
    TenantCreate,
    TokenCreate,
)
from registers.repository import ShopRow, TenantRow

AT = datetime(2026, 3, 1, tzinfo=UTC)
TENANT = TenantRow(uuid.uuid4(), 1, "Cafe Co", "pro", "EUR", "Europe/Paris", 0, 1, AT, AT)
SHOP = ShopRow(
    uuid.uuid4(),
    TENANT.tenant_id,
    1,
    "Main Street",
    "EUR",
    "Europe/Paris",
    time(4),
    True,
    1,
    AT,
    AT,
)


def test_a_shop_that_names_no_currency_or_zone_takes_its_tenant_s() -> None:
    shop = new_shop(ShopCreate(name="Corner", business_day_cutoff="05:30"), TENANT)
    assert (shop.tenant_id, shop.currency, shop.timezone) == (
        TENANT.tenant_id,
        "EUR",
        "Europe/Paris",
    )
    assert shop.business_day_cutoff == time(5, 30)


def test_a_shop_s_own_currency_and_zone_win_over_its_tenant_s() -> None:
    body = ShopCreate(name="Corner", currency="GBP", timezone="Europe/London")
    shop = new_shop(body, TENANT)
    assert (shop.currency, shop.timezone) == ("GBP", "Europe/London")


def test_a_new_register_is_written_in_its_shop_with_its_first_sync_status() -> None:
    body = RegisterCreate(name="Till 1", receipt_prefix="cafe1")
    register = new_register(body, SHOP, SyncStatus("synced", 12, 1))
    assert (register.tenant_id, register.shop_id) == (TENANT.tenant_id, SHOP.shop_id)
    assert register.receipt_prefix == "CAFE1"
    assert (register.sync_state, register.odoo_pos_config_id) == ("synced", 12)


def test_each_new_row_gets_an_id_of_its_own() -> None:
    body = TenantCreate(name="Cafe Co", default_currency="EUR", default_timezone="Europe/Paris")
    assert new_tenant(body).tenant_id != new_tenant(body).tenant_id
    method = PaymentMethodCreate(code="CASH", name="Cash", kind="cash")
    first, second = (new_payment_method(method, TENANT.tenant_id) for _ in range(2))
    assert first.payment_method_id != second.payment_method_id
    assert first.tenant_id == TENANT.tenant_id


def test_a_token_is_issued_to_the_whole_second_and_expires_its_ttl_later() -> None:
    body = TokenCreate(role="manager", subject="ana@cafe.example")
    token = new_token(body, TENANT.tenant_id, "admin@cafe.example", timedelta(hours=8))
    assert token.issued_at.microsecond == 0
    assert token.expires_at - token.issued_at == timedelta(hours=8)
    assert (token.role, token.issued_by) == ("manager", "admin@cafe.example")


def test_a_shop_patch_keeps_only_what_was_sent_with_its_cutoff_as_a_time() -> None:
    assert shop_patch_fields(ShopPatch(business_day_cutoff="03:00")) == {
        "business_day_cutoff": time(3)
    }
    assert shop_patch_fields(ShopPatch(name="Corner")) == {"name": "Corner"}
