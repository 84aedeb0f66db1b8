"""Which token a caller may issue, bound to what, for how long: without a database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from registers.domain.tokens import (
    IssuableRole,
    TokenPolicy,
    check_register_binding,
    check_register_takes_tokens,
    token_tenant,
)
from shared.errors import ConflictError, ForbiddenError, InvalidRequestError

POLICY = TokenPolicy(
    device_ttl=timedelta(days=90), person_ttl=timedelta(hours=12), max_ttl=timedelta(days=365)
)
OWN = uuid.uuid4()
OTHER = uuid.uuid4()
REGISTER = uuid.uuid4()


def test_a_device_token_lives_the_device_ttl_a_person_s_the_person_ttl() -> None:
    assert POLICY.ttl("cashier", None) == timedelta(days=90)
    for role in ("manager", "admin", "platform_admin"):
        assert POLICY.ttl(role, None) == timedelta(hours=12)


def test_an_asked_for_ttl_wins_up_to_the_maximum() -> None:
    assert POLICY.ttl("admin", 60) == timedelta(seconds=60)
    assert POLICY.ttl("admin", 365 * 86400) == timedelta(days=365)
    with pytest.raises(InvalidRequestError, match="ttl_seconds may be at most 31536000"):
        POLICY.ttl("admin", 365 * 86400 + 1)


def test_a_default_ttl_over_the_maximum_is_refused_too() -> None:
    short = TokenPolicy(timedelta(days=90), timedelta(hours=1), max_ttl=timedelta(days=30))
    with pytest.raises(InvalidRequestError, match="at most"):
        short.ttl("cashier", None)


@pytest.mark.parametrize("named", [None, OWN])
def test_a_tenant_admin_issues_for_its_own_tenant(named: uuid.UUID | None) -> None:
    assert token_tenant(OWN, "manager", named) == OWN


def test_a_tenant_admin_cannot_issue_for_another_tenant() -> None:
    with pytest.raises(ForbiddenError, match="its own tenant only"):
        token_tenant(OWN, "manager", OTHER)


def test_a_tenant_admin_cannot_issue_a_platform_admin_token() -> None:
    with pytest.raises(ForbiddenError, match="Only a platform admin issues platform admin"):
        token_tenant(OWN, "platform_admin", None)


def test_a_platform_admin_token_belongs_to_no_tenant() -> None:
    assert token_tenant(None, "platform_admin", None) is None
    with pytest.raises(InvalidRequestError, match="belongs to no tenant"):
        token_tenant(None, "platform_admin", OTHER)


def test_a_platform_admin_names_the_tenant_of_a_tenant_token() -> None:
    assert token_tenant(None, "admin", OTHER) == OTHER
    with pytest.raises(InvalidRequestError, match="must name the tenant"):
        token_tenant(None, "admin", None)


def test_a_cashier_token_is_bound_to_a_register() -> None:
    check_register_binding("cashier", REGISTER)
    with pytest.raises(InvalidRequestError, match="name its register in register_id"):
        check_register_binding("cashier", None)


@pytest.mark.parametrize("role", ["manager", "admin", "platform_admin"])
def test_a_person_s_token_is_bound_to_no_register(role: IssuableRole) -> None:
    check_register_binding(role, None)
    with pytest.raises(InvalidRequestError, match="leave register_id out"):
        check_register_binding(role, REGISTER)


def test_a_deactivated_register_takes_no_new_device_token() -> None:
    check_register_takes_tokens(REGISTER, active=True)
    with pytest.raises(ConflictError, match="reactivate it before issuing a token"):
        check_register_takes_tokens(REGISTER, active=False)
