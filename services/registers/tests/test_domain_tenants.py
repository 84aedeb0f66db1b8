"""Who sees which tenant, who changes a tier, what a shop may change: without a database."""

from __future__ import annotations

import uuid

import pytest

from registers.domain.shops import check_shop_changes
from registers.domain.tenants import check_tier_change, in_scope, tenant_scope
from shared.errors import ConflictError, ForbiddenError

OWN = uuid.uuid4()
OTHER = uuid.uuid4()


def test_a_tenant_user_sees_its_own_tenant_only() -> None:
    scope = tenant_scope(OWN, is_platform_admin=False)
    assert scope == OWN
    assert in_scope(scope, OWN)
    assert not in_scope(scope, OTHER)


def test_a_platform_admin_sees_every_tenant() -> None:
    scope = tenant_scope(OWN, is_platform_admin=True)
    assert scope is None
    assert in_scope(scope, OTHER)


def test_only_a_platform_admin_changes_a_tier() -> None:
    with pytest.raises(ForbiddenError, match="Only a platform admin changes a tenant's tier"):
        check_tier_change("starter", {"tier": "pro"}, by_platform_admin=False)
    check_tier_change("starter", {"tier": "pro"}, by_platform_admin=True)


def test_a_tenant_admin_changes_everything_but_the_tier() -> None:
    check_tier_change("pro", {"name": "Cafe", "default_currency": "USD"}, by_platform_admin=False)


def test_a_shop_with_registers_keeps_its_currency() -> None:
    with pytest.raises(ConflictError, match="Open a new shop for the new currency"):
        check_shop_changes({"currency": "USD"}, has_registers=True)


def test_a_shop_changes_its_currency_before_its_first_register() -> None:
    check_shop_changes({"currency": "USD"}, has_registers=False)
    check_shop_changes({"name": "Corner"}, has_registers=True)
