"""Records as the caller may see them: within its tenant, or not found (never "forbidden", so
another tenant's ids leak nothing)."""

from __future__ import annotations

from uuid import UUID

from registers import repository as repo
from registers.domain.tenants import in_scope, tenant_scope
from registers.repository import (
    Lock,
    PaymentMethodRow,
    RegisterRow,
    ShopRow,
    TenantRow,
    TokenRow,
)
from shared.actor import Actor
from shared.errors import NotFoundError
from shared.postgres import Db


def scope_of(actor: Actor) -> UUID | None:
    """The tenant the actor's lookups are confined to; None for a platform admin."""
    return tenant_scope(actor.tenant_id, is_platform_admin=actor.is_platform_admin)


async def tenant_in_scope(db: Db, actor: Actor, tenant_id: UUID, lock: Lock = "") -> TenantRow:
    tenant = None
    if in_scope(scope_of(actor), tenant_id):
        tenant = await repo.get_tenant(db, tenant_id, lock)
    if tenant is None:
        raise NotFoundError(f"There is no tenant {tenant_id}.")
    return tenant


async def own_tenant(db: Db, actor: Actor, lock: Lock = "") -> TenantRow:
    tenant = await repo.get_tenant(db, actor.tenant_id, lock)
    if tenant is None:
        raise NotFoundError(
            f"The token's tenant {actor.tenant_id} does not exist (any more); "
            "ask a platform admin for a token of an existing tenant."
        )
    return tenant


async def own_shop(db: Db, actor: Actor, shop_id: UUID, lock: Lock = "") -> ShopRow:
    shop = await repo.get_shop(db, actor.tenant_id, shop_id, lock)
    if shop is None:
        raise NotFoundError(f"There is no shop {shop_id} in this tenant.")
    return shop


async def own_register(db: Db, actor: Actor, register_id: UUID, lock: Lock = "") -> RegisterRow:
    register = await repo.get_register(db, actor.tenant_id, register_id, lock)
    if register is None:
        raise NotFoundError(f"There is no register {register_id} in this tenant.")
    return register


async def own_payment_method(
    db: Db, actor: Actor, payment_method_id: UUID, lock: Lock = ""
) -> PaymentMethodRow:
    method = await repo.get_payment_method(db, actor.tenant_id, payment_method_id, lock)
    if method is None:
        raise NotFoundError(f"There is no payment method {payment_method_id} in this tenant.")
    return method


async def token_in_scope(db: Db, actor: Actor, token_id: UUID, lock: Lock = "") -> TokenRow:
    token = await repo.get_token(db, token_id, scope_of(actor), lock)
    if token is None:
        raise NotFoundError(f"There is no token {token_id} in this tenant.")
    return token


async def tenant_named(db: Db, tenant_id: UUID) -> TenantRow:
    """The tenant a request names in its body (a platform admin's choice)."""
    tenant = await repo.get_tenant(db, tenant_id)
    if tenant is None:
        raise NotFoundError(f"There is no tenant {tenant_id}.", field="tenant_id")
    return tenant


async def register_named(
    db: Db, tenant_id: UUID, register_id: UUID, lock: Lock = ""
) -> RegisterRow:
    """The register a request names in its body, within `tenant_id`."""
    register = await repo.get_register(db, tenant_id, register_id, lock)
    if register is None:
        raise NotFoundError(
            f"There is no register {register_id} in this tenant.", field="register_id"
        )
    return register
