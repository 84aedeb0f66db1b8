"""Tokens: issue one (recorded, never stored), list them, revoke one everywhere."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import structlog

from registers import events
from registers import repository as repo
from registers.domain.tokens import (
    TokenPolicy,
    check_register_binding,
    check_register_takes_tokens,
    token_tenant,
)
from registers.handlers.scope import scope_of
from registers.http_mappers import token_issued, token_page
from registers.http_models import TokenCreate, TokenIssued, TokenPage
from shared.actor import Actor
from shared.auth import PLATFORM_TENANT_ID, Role, TokenIssuer, TokenVerifier
from shared.errors import NotFoundError
from shared.pagination import decode_cursor
from shared.revocation import record_revocation

log = structlog.get_logger(__name__)


class TokenUseCases:
    _pool: asyncpg.Pool
    _issuer: TokenIssuer
    _verifier: TokenVerifier
    _token_policy: TokenPolicy

    async def issue_token(self, actor: Actor, body: TokenCreate) -> TokenIssued:
        scope = scope_of(actor)
        named = token_tenant(scope, body.role, body.tenant_id)
        if scope is None and named is not None:
            await self._check_tenant_exists(named)
        tenant_id = PLATFORM_TENANT_ID if named is None else named
        check_register_binding(body.role, body.register_id)
        ttl = self._token_policy.ttl(body.role, body.ttl_seconds)
        token_id = uuid.uuid4()
        issued_at = datetime.now(UTC).replace(microsecond=0)
        async with self._pool.acquire() as db, db.transaction():
            if body.register_id is not None:
                register = await repo.get_register(db, tenant_id, body.register_id, "FOR SHARE")
                if register is None:
                    raise NotFoundError(
                        f"There is no register {body.register_id} in this tenant.",
                        field="register_id",
                    )
                check_register_takes_tokens(body.register_id, active=register.active)
            row = await repo.insert_token(
                db,
                token_id=token_id,
                tenant_id=tenant_id,
                role=body.role,
                register_id=body.register_id,
                subject=body.subject,
                issued_by=actor.subject,
                issued_at=issued_at,
                expires_at=issued_at + ttl,
            )
        token = self._issuer.issue(
            subject=body.subject,
            tenant_id=tenant_id,
            role=Role(body.role),
            register_id=body.register_id,
            ttl=ttl,
            token_id=token_id,
            issued_at=issued_at,
        )
        log.info("token_issued", token_id=str(token_id), role=body.role, by=actor.subject)
        return token_issued(row, token)

    async def _check_tenant_exists(self, tenant_id: UUID) -> None:
        async with self._pool.acquire() as db:
            if await repo.get_tenant(db, tenant_id) is None:
                raise NotFoundError(f"There is no tenant {tenant_id}.", field="tenant_id")

    async def list_tokens(self, actor: Actor, cursor: str | None, limit: int) -> TokenPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_tokens(db, actor.tenant_id, decode_cursor(cursor), limit)
        return token_page(rows, limit)

    async def revoke_token(self, actor: Actor, token_id: UUID) -> None:
        """Revokes a token everywhere; revoking it again changes nothing."""
        async with self._pool.acquire() as db, db.transaction():
            token = await repo.get_token(db, token_id, scope_of(actor), "FOR UPDATE")
            if token is None:
                raise NotFoundError(f"There is no token {token_id} in this tenant.")
            if token.revoked_at is not None:
                return
            await repo.revoke_token(db, token_id, actor.subject)
            await record_revocation(db, token_id, token.expires_at)
            await events.emit(db, events.token_revoked(token))
        self._verifier.revoke(token_id)
        log.info("token_revoked", token_id=str(token_id), by=actor.subject)
