"""Connector HTTP routes (ops and tenant admins): parse, call one use case. Nothing else."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Request

from odoo_connector.http_models import OdooCheckPublic, OdooSettingsPublic, OdooSettingsPut
from odoo_connector.odoo_settings import OdooSettings
from odoo_connector.settings import ConnectorSettings
from shared.actor import Actor
from shared.auth import Claims, Role, allow_roles
from shared.dead_letters.api import dead_letters_router
from shared.errors import install_domain_error_handler
from shared.http_service import Lifespan, create_service_app, service_readiness

router = APIRouter(prefix="/v1")


def _odoo_settings(request: Request) -> OdooSettings:
    odoo_settings: OdooSettings = request.app.state.odoo_settings
    return odoo_settings


OdooSettingsDep = Annotated[OdooSettings, Depends(_odoo_settings)]
# Who may call each route (README, "Who may do what"); which tenant is the use case's check.
ADMIN = Depends(allow_roles(Role.ADMIN))


@router.put("/tenants/{tenant_id}/odoo", dependencies=[ADMIN])
async def put_odoo_settings(
    tenant_id: UUID, body: OdooSettingsPut, claims: Claims, odoo_settings: OdooSettingsDep
) -> OdooSettingsPublic:
    return await odoo_settings.put(Actor.from_claims(claims), tenant_id, body)


@router.get("/tenants/{tenant_id}/odoo", dependencies=[ADMIN])
async def get_odoo_settings(
    tenant_id: UUID, claims: Claims, odoo_settings: OdooSettingsDep
) -> OdooSettingsPublic:
    return await odoo_settings.get(Actor.from_claims(claims), tenant_id)


@router.post("/tenants/{tenant_id}/odoo/check", dependencies=[ADMIN])
async def check_odoo_settings(
    tenant_id: UUID, claims: Claims, odoo_settings: OdooSettingsDep
) -> OdooCheckPublic:
    return await odoo_settings.check(Actor.from_claims(claims), tenant_id)


def build_app(settings: ConnectorSettings, lifespan: Lifespan) -> FastAPI:
    app = create_service_app(title="Odoo connector", lifespan=lifespan, readiness=service_readiness)
    install_domain_error_handler(app)
    app.include_router(router)
    app.include_router(dead_letters_router(settings))
    return app
