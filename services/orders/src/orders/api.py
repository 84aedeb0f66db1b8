"""Orders HTTP routes: parse, call one handler, map its errors. Nothing else."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status

from orders.handlers import OrderHandlers
from orders.http_models import (
    ImportSummaryPublic,
    OdooHistoryImport,
    OrderBatchCreate,
    OrderBatchPublic,
    OrderCreate,
    OrderPage,
    OrderPublic,
    RefundCreate,
    RefundPublic,
    SessionClose,
    SessionOpen,
    SessionPage,
    SessionPublic,
)
from orders.imports import OdooHistoryImports
from orders.settings import OrdersSettings
from shared.actor import Actor
from shared.auth import Claims, Role, allow_roles
from shared.dead_letters.api import dead_letters_router
from shared.errors import install_domain_error_handler
from shared.http_service import Lifespan, create_service_app, service_readiness

router = APIRouter(prefix="/v1")


# Coroutines, like shared's: FastAPI would run a plain `def` dependency on a worker thread.
async def _handlers(request: Request) -> OrderHandlers:
    handlers: OrderHandlers = request.app.state.handlers
    return handlers


async def _imports(request: Request) -> OdooHistoryImports:
    imports: OdooHistoryImports = request.app.state.imports
    return imports


async def _actor(claims: Claims) -> Actor:
    return Actor.from_claims(claims)


HandlersDep = Annotated[OrderHandlers, Depends(_handlers)]
ImportsDep = Annotated[OdooHistoryImports, Depends(_imports)]
ActorDep = Annotated[Actor, Depends(_actor)]
Limit = Annotated[int, Query(ge=1, le=250)]

# Who may call each route (README, "Who may do what"); which register a cashier may touch is
# checked by the handlers.
TILL = Depends(allow_roles(Role.CASHIER))
TILL_OR_BACK_OFFICE = Depends(allow_roles(Role.CASHIER, Role.MANAGER, Role.ADMIN))
ADMIN = Depends(allow_roles(Role.ADMIN))


@router.post(
    "/orders",
    status_code=201,
    responses={200: {"model": OrderPublic}},
    dependencies=[TILL],
)
async def place_order(
    body: OrderCreate, response: Response, actor: ActorDep, handlers: HandlersDep
) -> OrderPublic:
    order, created = await handlers.place_order(actor, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return order


@router.post("/orders/batch", dependencies=[TILL])
async def place_order_batch(
    body: OrderBatchCreate, actor: ActorDep, handlers: HandlersDep
) -> OrderBatchPublic:
    """A tablet's queue of orders taken offline: each created, replayed or refused on its own."""
    return await handlers.place_order_batch(actor, body)


@router.get("/orders", dependencies=[TILL_OR_BACK_OFFICE])
async def list_orders(
    actor: ActorDep,
    handlers: HandlersDep,
    register_id: UUID | None = None,
    session_id: UUID | None = None,
    business_date: date | None = None,
    state: Literal["paid", "partially_refunded", "refunded"] | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> OrderPage:
    return await handlers.list_orders(
        actor,
        register_id=register_id,
        session_id=session_id,
        business_date=business_date,
        state=state,
        cursor=cursor,
        limit=limit,
    )


@router.get("/orders/{order_id}", dependencies=[TILL_OR_BACK_OFFICE])
async def get_order(order_id: UUID, actor: ActorDep, handlers: HandlersDep) -> OrderPublic:
    return await handlers.get_order(actor, order_id)


@router.post(
    "/orders/{order_id}/refunds",
    status_code=201,
    responses={200: {"model": RefundPublic}},
    dependencies=[TILL],
)
async def refund_order(
    order_id: UUID, body: RefundCreate, response: Response, actor: ActorDep, handlers: HandlersDep
) -> RefundPublic:
    refund, created = await handlers.refund_order(actor, order_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return refund


@router.post("/sessions", status_code=201, dependencies=[TILL])
async def open_session(body: SessionOpen, actor: ActorDep, handlers: HandlersDep) -> SessionPublic:
    return await handlers.open_session(actor, body)


@router.post("/sessions/{session_id}/close", dependencies=[TILL_OR_BACK_OFFICE])
async def close_session(
    session_id: UUID, body: SessionClose, actor: ActorDep, handlers: HandlersDep
) -> SessionPublic:
    return await handlers.close_session(actor, session_id, body)


@router.get("/sessions/{session_id}", dependencies=[TILL_OR_BACK_OFFICE])
async def get_session(session_id: UUID, actor: ActorDep, handlers: HandlersDep) -> SessionPublic:
    return await handlers.get_session(actor, session_id)


@router.get("/sessions", dependencies=[TILL_OR_BACK_OFFICE])
async def list_sessions(
    actor: ActorDep,
    handlers: HandlersDep,
    register_id: UUID | None = None,
    state: Literal["open", "closed"] | None = None,
    business_date: date | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> SessionPage:
    return await handlers.list_sessions(
        actor,
        register_id=register_id,
        state=state,
        business_date=business_date,
        cursor=cursor,
        limit=limit,
    )


@router.post("/imports/orders", dependencies=[ADMIN])
async def import_odoo_history(
    body: OdooHistoryImport, actor: ActorDep, imports: ImportsDep
) -> ImportSummaryPublic:
    """A Pro tenant's Odoo history (admin): closed sessions with their orders and refunds."""
    return await imports.import_history(actor, body)


def build_app(settings: OrdersSettings, lifespan: Lifespan) -> FastAPI:
    # Orders are still taken while RabbitMQ is down, but the service is not ready: it cannot
    # hear of registers or Odoo results until its consumers are back.
    app = create_service_app(title="Orders", lifespan=lifespan, readiness=service_readiness)
    install_domain_error_handler(app)
    app.include_router(router)
    app.include_router(dead_letters_router(settings))
    return app
