"""Where a tenant's event goes in its Odoo: the tenant's Odoo logged in (cached per settings),
the register's pos.config, and the product and tax ids its lines need."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from odoo_connector import repository as repo
from odoo_connector.domain import (
    MissingPaymentMappingError,
    MissingProductMappingError,
    OdooCredentialsRejected,
    PaymentMethodMap,
    TaxMap,
    tax_map,
)
from odoo_connector.odoo_client import OdooEndpoint
from odoo_connector.odoo_pos import OdooPos, TenantOdoo
from odoo_connector.odoo_work import MESSAGES_PROCESSED
from shared.events.contracts import OrderPlaced
from shared.events.envelope import EventEnvelope
from shared.retry_topology import WaitForPrerequisite
from shared.secret_box import SecretBox

# A tenant's Odoo taxes are read again after this long: a tax created to fix a refused line is
# found without a restart.
TAXES_TTL_S = 60.0


@dataclass(frozen=True)
class Destination:
    odoo: TenantOdoo
    pos_config_id: int
    context: repo.EventContext


class OdooDestinations:
    def __init__(
        self,
        pool: asyncpg.Pool,
        odoo_pos: OdooPos,
        secrets: SecretBox,
        predecessor_wait_max_s: float,
    ) -> None:
        self._pool = pool
        self._odoo = odoo_pos
        self._secrets = secrets
        self._predecessor_wait_max_s = predecessor_wait_max_s
        self._logins: dict[tuple[UUID, Any], TenantOdoo] = {}
        # product_ref -> product.product per tenant; Odoo product ids do not change under us.
        self._products: dict[UUID, dict[str, int]] = {}
        self._taxes: dict[UUID, tuple[float, Any, TaxMap]] = {}

    async def destination(self, envelope: EventEnvelope, register_id: UUID) -> Destination | None:
        """Where the event goes in Odoo; None (counted) for a Starter tenant's event."""
        async with self._pool.acquire() as conn:
            context = await repo.event_context(conn, envelope.tenant_id, register_id)
        odoo = await self.tenant_odoo(envelope.tenant_id, context)
        if odoo is None:
            MESSAGES_PROCESSED.labels(envelope.type, "skipped_starter").inc()
            return None
        return Destination(odoo, pos_config_of(register_id, context), context)

    async def tenant_odoo(self, tenant_id: UUID, context: repo.EventContext) -> TenantOdoo | None:
        """The tenant's Odoo, logged in; None for Starter; waits while it cannot be used."""
        tier, settings = context.tier, context.settings
        if tier is None:
            raise WaitForPrerequisite(
                "tenant_unknown", f"tenant {tenant_id}'s tier is not known yet"
            )
        if tier == "starter":
            return None
        if settings is None:
            raise WaitForPrerequisite(
                "odoo_settings_missing",
                f"Pro tenant {tenant_id} has no Odoo settings (PUT /v1/tenants/{tenant_id}/odoo)",
            )
        key = (tenant_id, settings.updated_at)
        cached = self._logins.get(key)
        if cached is not None:
            self._odoo.check_breaker(cached.endpoint)
            return cached
        endpoint = OdooEndpoint(
            settings.url,
            settings.database,
            settings.login,
            self._secrets.open(settings.secret_encrypted),
        )
        odoo = await self._odoo.login(endpoint, settings.odoo_version)
        self._logins = {k: v for k, v in self._logins.items() if k[0] != tenant_id}
        self._logins[key] = odoo
        return odoo

    @contextlib.contextmanager
    def credentials_wait(self, tenant_id: UUID) -> Iterator[None]:
        """Odoo refusing the stored credentials: a wait until they are fixed, logged in anew."""
        try:
            yield
        except OdooCredentialsRejected as error:
            self._logins = {k: v for k, v in self._logins.items() if k[0] != tenant_id}
            raise WaitForPrerequisite("odoo_credentials_rejected", str(error)) from None

    async def product_ids(
        self, tenant_id: UUID, odoo: TenantOdoo, order: OrderPlaced
    ) -> dict[str, int]:
        """Lines without an odoo_product_id are mapped by default_code = product_ref (cached)."""
        wanted = sorted({line.product_ref for line in order.lines if line.odoo_product_id is None})
        cached = self._products.setdefault(tenant_id, {})
        if all(ref in cached for ref in wanted):
            return cached
        async with self._pool.acquire() as conn:
            known = await repo.product_ids(conn, tenant_id, wanted)
        missing = [ref for ref in wanted if ref not in known]
        if missing:
            found = await self._odoo.products_by_code(odoo, missing)
            if found:
                async with self._pool.acquire() as conn:
                    await repo.save_product_ids(conn, tenant_id, found)
            known.update(found)
            absent = [ref for ref in missing if ref not in found]
            if absent:
                raise MissingProductMappingError(
                    f"no Odoo product has default_code {', '.join(map(repr, absent))}: give the "
                    "product an odoo_product_id, or that internal reference in Odoo"
                )
        cached.update(known)
        return cached

    async def tax_map(self, tenant_id: UUID, target: Destination) -> TaxMap:
        """The tenant's rate -> Odoo sale tax map, read from its Odoo now and then."""
        settings = target.context.settings
        assert settings is not None
        now = asyncio.get_running_loop().time()
        cached = self._taxes.get(tenant_id)
        fresh = cached is not None and now - cached[0] < TAXES_TTL_S
        if cached is not None and fresh and cached[1] == settings.updated_at:
            return cached[2]
        taxes = tax_map(await self._odoo.sale_taxes(target.odoo), settings.tax_mapping)
        self._taxes[tenant_id] = (now, settings.updated_at, taxes)
        return taxes

    def float_wait_over(self, envelope: EventEnvelope) -> bool:
        """In flight long enough that the till session's opening is not coming any more."""
        age_s = (datetime.now(UTC) - envelope.occurred_at).total_seconds()
        return age_s > self._predecessor_wait_max_s


def payment_methods(context: repo.EventContext, payments: list[Any]) -> PaymentMethodMap:
    """The tenant's payment methods in Odoo; refused if one of `payments` has none."""
    own = context.own_cash_method
    methods = PaymentMethodMap(
        context.payment_method_ids,
        own.odoo_payment_method_id if own else None,
        own.pos_config_method_ids if own else frozenset(),
    )
    absent = methods.unmapped(payments)
    if absent:
        raise MissingPaymentMappingError(
            f"payment method {', '.join(map(repr, absent))} has no Odoo payment method: set "
            "its odoo_payment_method_id"
        )
    return methods


def pos_config_of(register_id: UUID, context: repo.EventContext) -> int:
    """The register's pos.config; waits while the register or its pos.config is not known."""
    register = context.register
    if register is None:
        raise WaitForPrerequisite("register_unknown", f"register {register_id} is not known yet")
    if register.odoo_pos_config_id is None:
        raise WaitForPrerequisite(
            "register_not_in_odoo",
            f"register {register_id} has no pos.config in Odoo yet ({register.sync_state})",
        )
    return register.odoo_pos_config_id
