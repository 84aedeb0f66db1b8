"""Reporting HTTP routes: parse, call one handler, map its errors. Nothing else."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request

from reporting.handlers import ChatCommands, ChatSettings, ReportQueries
from reporting.http_models import (
    ChatConfigPublic,
    ChatConfigUpdate,
    ChatWebhookPublic,
    DailyReportPublic,
    DashboardPublic,
    SalesGroupBy,
    SalesReportPublic,
    SessionReportPublic,
)
from reporting.settings import ReportingSettings
from shared.actor import Actor
from shared.auth import Claims, Role, allow_roles
from shared.dead_letters.api import dead_letters_router
from shared.errors import install_domain_error_handler
from shared.http_service import Lifespan, create_service_app, service_readiness

router = APIRouter(prefix="/v1")


# Dependencies are coroutines: a plain `def` one runs in a worker thread, a hop per request.
async def _queries(request: Request) -> ReportQueries:
    queries: ReportQueries = request.app.state.queries
    return queries


async def _chat(request: Request) -> ChatSettings:
    chat: ChatSettings = request.app.state.chat_settings
    return chat


async def _actor(claims: Claims) -> Actor:
    return Actor.from_claims(claims)


QueriesDep = Annotated[ReportQueries, Depends(_queries)]
ChatDep = Annotated[ChatSettings, Depends(_chat)]


async def _chat_commands(request: Request) -> ChatCommands:
    commands: ChatCommands = request.app.state.chat_commands
    return commands


CommandsDep = Annotated[ChatCommands, Depends(_chat_commands)]
ActorDep = Annotated[Actor, Depends(_actor)]
ShopId = Annotated[UUID, Query(description="The shop to report on")]

# Who may call each route (README, "Who may do what"); which register's session a cashier may
# read is checked by the handlers.
BACK_OFFICE = Depends(allow_roles(Role.MANAGER, Role.ADMIN))
TILL_OR_BACK_OFFICE = Depends(allow_roles(Role.CASHIER, Role.MANAGER, Role.ADMIN))
ADMIN = Depends(allow_roles(Role.ADMIN))


@router.get("/dashboard", dependencies=[BACK_OFFICE])
async def dashboard(shop_id: ShopId, actor: ActorDep, queries: QueriesDep) -> DashboardPublic:
    return await queries.dashboard(actor, shop_id)


@router.get("/reports/daily", dependencies=[BACK_OFFICE])
async def daily_report(
    shop_id: ShopId, business_date: date, actor: ActorDep, queries: QueriesDep
) -> DailyReportPublic:
    return await queries.daily_report(actor, shop_id, business_date)


@router.get("/reports/sales", response_model_by_alias=True, dependencies=[BACK_OFFICE])
async def sales_report(
    shop_id: ShopId,
    actor: ActorDep,
    queries: QueriesDep,
    from_date: Annotated[date, Query(alias="from")],
    to_date: Annotated[date, Query(alias="to")],
    group_by: SalesGroupBy = "day",
) -> SalesReportPublic:
    return await queries.sales_report(actor, shop_id, from_date, to_date, group_by)


@router.get("/reports/sessions/{session_id}", dependencies=[TILL_OR_BACK_OFFICE])
async def session_report(
    session_id: UUID, actor: ActorDep, queries: QueriesDep
) -> SessionReportPublic:
    return await queries.session_report(actor, session_id)


@router.put("/chat", dependencies=[ADMIN])
async def update_chat(body: ChatConfigUpdate, actor: ActorDep, chat: ChatDep) -> ChatConfigPublic:
    return await chat.update(actor, body)


@router.get("/chat", dependencies=[BACK_OFFICE])
async def get_chat(actor: ActorDep, chat: ChatDep) -> ChatConfigPublic:
    return await chat.get(actor)


@router.post("/chat/webhook", dependencies=[ADMIN])
async def connect_chat_webhook(actor: ActorDep, commands: CommandsDep) -> ChatWebhookPublic:
    return await commands.connect_webhook(actor)


@router.post("/telegram/{tenant_id}", responses={200: {"description": "Taken, or ignored"}})
async def telegram_update(
    tenant_id: UUID,
    commands: CommandsDep,
    update: Annotated[dict[str, Any] | None, Body()] = None,
    secret: Annotated[
        str | None,
        Header(
            alias="X-Telegram-Bot-Api-Secret-Token",
            description="The secret set by POST /v1/chat/webhook; without it nothing happens",
        ),
    ] = None,
) -> dict[str, bool]:
    """Telegram's webhook for the tenant's bot; the secret header stands for a token."""
    await commands.on_update(tenant_id, secret, update or {})
    return {"ok": True}


def build_app(settings: ReportingSettings, lifespan: Lifespan) -> FastAPI:
    # Reports are still served from Postgres while RabbitMQ is away, but they grow stale: the
    # service is not ready until its consumers are back.
    app = create_service_app(title="Reporting", lifespan=lifespan, readiness=service_readiness)
    install_domain_error_handler(app)

    app.include_router(router)
    app.include_router(dead_letters_router(settings))
    return app
