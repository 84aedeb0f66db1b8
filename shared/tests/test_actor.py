from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from shared.actor import Actor
from shared.auth import Role, TokenClaims
from shared.errors import ForbiddenError


def _claims(role: Role, register_id=None) -> TokenClaims:
    return TokenClaims(
        sub="someone",
        tenant_id=uuid4(),
        role=role,
        register_id=register_id,
        jti=uuid4(),
        exp=datetime.now(UTC) + timedelta(hours=1),
    )


def test_a_cashier_token_without_a_register_is_refused_with_what_to_issue_instead() -> None:
    with pytest.raises(ForbiddenError, match="device token issued for its register"):
        Actor.from_claims(_claims(Role.CASHIER))


def test_a_cashier_works_on_its_own_register_only() -> None:
    own, other = uuid4(), uuid4()
    cashier = Actor.from_claims(_claims(Role.CASHIER, own))
    cashier.check_register(own, "place an order")
    with pytest.raises(ForbiddenError, match=f"cannot place an order on register {other}"):
        cashier.check_register(other, "place an order")


def test_a_cashiers_list_is_limited_to_its_register_whatever_it_names() -> None:
    own = uuid4()
    cashier = Actor.from_claims(_claims(Role.CASHIER, own))
    assert cashier.register_scope(None, "list orders") == own
    with pytest.raises(ForbiddenError):
        cashier.register_scope(uuid4(), "list orders")


def test_a_manager_lists_what_it_names_and_is_not_a_platform_admin() -> None:
    manager = Actor.from_claims(_claims(Role.MANAGER))
    named = uuid4()
    assert manager.register_scope(named, "list orders") == named
    assert manager.register_scope(None, "list orders") is None
    assert not manager.is_platform_admin
    assert Actor.from_claims(_claims(Role.PLATFORM_ADMIN)).is_platform_admin
