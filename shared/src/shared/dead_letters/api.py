"""`/v1/dead-letters` in every service: list, group, show, replay and discard its dead letters.

A platform admin sees every tenant's (and those that name no tenant); a tenant's admin only
their tenant's, and another tenant's record is 404 to them. Other roles get 403.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from shared.auth import Claims, Role, TokenClaims, allow_roles
from shared.dead_letters.models import (
    ActionResult,
    DeadLetterDetail,
    DeadLetterFilter,
    DeadLetterGroups,
    DeadLetterPage,
    DiscardRequest,
    ReplayRequest,
    Status,
    filter_of,
)
from shared.dead_letters.operations import DeadLetterOperations
from shared.dead_letters.store import DeadLetterStore, Scope
from shared.settings import ServiceSettings

StatusQuery = Annotated[
    Status | Literal["all"],
    Query(description="Open ones (dead) unless asked otherwise; `all` for every status"),
]


def _status(status: Status | Literal["all"]) -> Status | None:
    return None if status == "all" else status


def scope_of(claims: TokenClaims) -> Scope:
    return Scope.everything() if claims.role is Role.PLATFORM_ADMIN else Scope(claims.tenant_id)


Wanted = Annotated[DeadLetterFilter, Depends(filter_of)]


def dead_letters_router(settings: ServiceSettings) -> APIRouter:
    """The routes, for `app.include_router`; the app's state holds the service's pool."""
    router = APIRouter(
        prefix="/v1/dead-letters",
        tags=["dead letters"],
        dependencies=[Depends(allow_roles(Role.ADMIN, Role.PLATFORM_ADMIN))],
    )

    def operations(request: Request) -> DeadLetterOperations:
        store = DeadLetterStore(request.app.state.pool, settings.broker_namespace)
        return DeadLetterOperations(store, settings.amqp_url)

    using = Depends(operations)

    @router.get("")
    async def list_dead_letters(
        claims: Claims,
        where: Wanted,
        ops: DeadLetterOperations = using,
        status: StatusQuery = "dead",
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=250)] = 50,
    ) -> DeadLetterPage:
        """Newest first, with an opaque cursor."""
        return await ops.store.page(scope_of(claims), where, _status(status), cursor, limit)

    @router.get("/groups")
    async def group_dead_letters(
        claims: Claims,
        where: Wanted,
        ops: DeadLetterOperations = using,
        status: StatusQuery = "dead",
    ) -> DeadLetterGroups:
        """By cause (error class and reason without ids and numbers), with counts, oldest and
        newest; a group's key replays or discards it whole."""
        groups = await ops.store.groups(scope_of(claims), where, _status(status))
        return DeadLetterGroups(items=groups)

    @router.get("/{dead_letter_id}")
    async def show_dead_letter(
        dead_letter_id: UUID, claims: Claims, ops: DeadLetterOperations = using
    ) -> DeadLetterDetail:
        """The whole record: headers, body, each time the message was given up on, and what
        operators did about it."""
        return await ops.store.detail(scope_of(claims), dead_letter_id)

    @router.post("/replay")
    async def replay_dead_letters(
        body: ReplayRequest, claims: Claims, ops: DeadLetterOperations = using
    ) -> ActionResult:
        """Sends the selected dead letters back to the queue each came from, with a fresh retry
        budget, at most `rate_per_s` a second; `dry_run` only lists them."""
        return await ops.replay(scope_of(claims), claims.sub, "api", body)

    @router.post("/discard")
    async def discard_dead_letters(
        body: DiscardRequest, claims: Claims, ops: DeadLetterOperations = using
    ) -> ActionResult:
        """Removes the selected dead letters from their dead-letter queue for good; `reason`
        is required and audited."""
        return await ops.discard(scope_of(claims), claims.sub, "api", body)

    return router
