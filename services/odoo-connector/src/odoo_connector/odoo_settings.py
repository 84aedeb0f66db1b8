"""A tenant's Odoo settings, for its admins: store them (the secret sealed), show them, and try
them against the Odoo they name."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import structlog

from odoo_connector import repository as repo
from odoo_connector.domain import TaxNotMappedError, tax_map
from odoo_connector.http_mappers import named_taxes, settings_public, tax_mapping_public
from odoo_connector.http_models import OdooCheckPublic, OdooSettingsPublic, OdooSettingsPut
from odoo_connector.odoo_client import (
    OdooEndpoint,
    OdooError,
    OdooProtocolError,
    OdooUnavailable,
    UnsupportedOdooVersion,
)
from odoo_connector.odoo_pos import OdooPos, TenantOdoo
from shared.actor import Actor
from shared.consumer import PermanentHandlingError
from shared.errors import NotFoundError
from shared.retry_topology import WaitForPrerequisite
from shared.secret_box import SecretBox

log = structlog.get_logger(__name__)


class OdooSettings:
    def __init__(self, pool: asyncpg.Pool, odoo_pos: OdooPos, secrets: SecretBox) -> None:
        self._pool = pool
        self._odoo = odoo_pos
        self._secrets = secrets

    async def put(self, actor: Actor, tenant_id: UUID, body: OdooSettingsPut) -> OdooSettingsPublic:
        _require_own_tenant(actor, tenant_id)
        async with self._pool.acquire() as conn:
            row = await repo.save_settings(
                conn,
                tenant_id,
                body.url,
                body.database,
                body.login,
                # Sealed text, kept in a bytea column.
                self._secrets.seal(body.secret.get_secret_value()).encode(),
                body.odoo_version,
                body.template_pos_config_id,
                named_taxes(body.tax_mapping),
            )
        log.info("odoo_settings_saved", tenant_id=str(tenant_id), odoo_url=body.url)
        return settings_public(row)

    async def get(self, actor: Actor, tenant_id: UUID) -> OdooSettingsPublic:
        _require_own_tenant(actor, tenant_id)
        async with self._pool.acquire() as conn:
            row = await repo.settings(conn, tenant_id)
        if row is None:
            raise _no_settings(tenant_id)
        return settings_public(row)

    async def check(self, actor: Actor, tenant_id: UUID) -> OdooCheckPublic:
        """Tries the stored settings: reachable? version? login? what is there to clone?"""
        _require_own_tenant(actor, tenant_id)
        async with self._pool.acquire() as conn:
            row = await repo.settings(conn, tenant_id)
        if row is None:
            raise _no_settings(tenant_id)
        endpoint = OdooEndpoint(
            row.url, row.database, row.login, self._secrets.open(row.secret_encrypted)
        )
        client = self._odoo.client
        try:
            version = await client.version(row.url)
        except (OdooUnavailable, OdooProtocolError, OdooError) as error:
            return OdooCheckPublic(reachable=False, authenticated=False, problem=str(error))
        except UnsupportedOdooVersion as error:
            return OdooCheckPublic(reachable=True, authenticated=False, problem=str(error))
        try:
            uid = await client.authenticate(endpoint)
            if uid is None:
                return OdooCheckPublic(
                    reachable=True,
                    authenticated=False,
                    version=version,
                    problem=f"Odoo refused the login {row.login!r} on database {row.database!r}; "
                    "check the login, the API key and the database name",
                )
            odoo = TenantOdoo(endpoint, version, uid)
            summary = await self._odoo.summary(odoo, row.template_pos_config_id)
            sale_taxes = await self._odoo.sale_taxes(odoo)
        except (
            OdooUnavailable,
            OdooProtocolError,
            OdooError,
            WaitForPrerequisite,
            PermanentHandlingError,
        ) as error:
            return OdooCheckPublic(
                reachable=True, authenticated=False, version=version, problem=str(error)
            )
        try:
            taxes = tax_map(sale_taxes, row.tax_mapping)
        except TaxNotMappedError as error:
            return OdooCheckPublic(
                reachable=True, authenticated=True, version=version, problem=str(error), **summary
            )
        return OdooCheckPublic(
            reachable=True,
            authenticated=True,
            version=version,
            tax_mapping=tax_mapping_public(taxes),
            **summary,
        )


def _require_own_tenant(actor: Actor, tenant_id: UUID) -> None:
    if actor.tenant_id != tenant_id:
        # Another tenant's settings do not exist as far as this caller can tell.
        raise NotFoundError(f"No tenant {tenant_id} exists.")


def _no_settings(tenant_id: UUID) -> NotFoundError:
    return NotFoundError(
        f"Tenant {tenant_id} has no Odoo settings yet; PUT /v1/tenants/{tenant_id}/odoo first."
    )
