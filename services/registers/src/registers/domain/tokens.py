"""Tokens: who may issue which token, bound to what, for how long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from uuid import UUID

from shared.errors import ConflictError, ForbiddenError, InvalidRequestError

IssuableRole = Literal["cashier", "manager", "admin", "platform_admin"]


@dataclass(frozen=True)
class TokenPolicy:
    device_ttl: timedelta
    person_ttl: timedelta
    max_ttl: timedelta

    def ttl(self, role: IssuableRole, ttl_seconds: int | None) -> timedelta:
        """How long a new token lives: what was asked for, or the default of its kind."""
        if ttl_seconds is not None:
            ttl = timedelta(seconds=ttl_seconds)
        else:
            ttl = self.device_ttl if role == "cashier" else self.person_ttl
        if ttl > self.max_ttl:
            raise InvalidRequestError(
                f"ttl_seconds may be at most {int(self.max_ttl.total_seconds())}; "
                "issue a new token when this one nears its expiry.",
                field="ttl_seconds",
            )
        return ttl


def token_tenant(scope: UUID | None, role: IssuableRole, named: UUID | None) -> UUID | None:
    """The tenant a new token belongs to, `None` for the platform's own (a platform admin's).

    `scope` is the issuer's tenant, or None when a platform admin issues; `named` is the
    tenant_id the request names.
    """
    if scope is not None:
        if role == "platform_admin":
            raise ForbiddenError("Only a platform admin issues platform admin tokens.")
        if named not in (None, scope):
            raise ForbiddenError(
                "An admin issues tokens for its own tenant only; leave tenant_id out."
            )
        return scope
    if role == "platform_admin":
        if named is not None:
            raise InvalidRequestError(
                "A platform admin token belongs to no tenant; leave tenant_id out.",
                field="tenant_id",
            )
        return None
    if named is None:
        raise InvalidRequestError(
            "A platform admin must name the tenant the token is for in tenant_id.",
            field="tenant_id",
        )
    return named


def check_register_binding(role: IssuableRole, register_id: UUID | None) -> None:
    """A cashier token is a till's, bound to its register; no other token is."""
    if role == "cashier" and register_id is None:
        raise InvalidRequestError(
            "A cashier token is a device's: name its register in register_id.",
            field="register_id",
        )
    if role != "cashier" and register_id is not None:
        raise InvalidRequestError(
            "Only a cashier (device) token is bound to a register; leave register_id out.",
            field="register_id",
        )


def check_register_takes_tokens(register_id: UUID, *, active: bool) -> None:
    if not active:
        raise ConflictError(
            f"Register {register_id} is deactivated; reactivate it before "
            "issuing a token for its device.",
            field="register_id",
        )
