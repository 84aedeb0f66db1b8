"""Tokens: issue one (recorded, never stored), list them, revoke one everywhere."""

from __future__ import annotations

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
from registers.http_mappers import new_token, token_issued, token_page
from registers.http_models import TokenCreate, TokenIssued, TokenPage
from registers.scope import register_named, scope_of, tenant_named, token_in_scope
from shared.actor import Actor
from shared.auth import PLATFORM_TENANT_ID, Role, TokenIssuer, TokenVerifier
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
            async with self._pool.acquire() as db:
                await tenant_named(db, named)
        tenant_id = PLATFORM_TENANT_ID if named is None else named
        check_register_binding(body.role, body.register_id)
        ttl = self._token_policy.ttl(body.role, body.ttl_seconds)
        new = new_token(body, tenant_id, actor.subject, ttl)
        async with self._pool.acquire() as db, db.transaction():
            if body.register_id is not None:
                register = await register_named(db, tenant_id, body.register_id, "FOR SHARE")
                check_register_takes_tokens(body.register_id, active=register.active)
            row = await repo.insert_token(db, new)
        token = self._issuer.issue(
            subject=body.subject,
            tenant_id=tenant_id,
            role=Role(body.role),
            register_id=body.register_id,
            ttl=ttl,
            token_id=new.token_id,
            issued_at=new.issued_at,
        )
        log.info("token_issued", token_id=str(new.token_id), role=body.role, by=actor.subject)
        return token_issued(row, token)

    async def list_tokens(self, actor: Actor, cursor: str | None, limit: int) -> TokenPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_tokens(db, actor.tenant_id, decode_cursor(cursor), limit)
        return token_page(rows, limit)

    async def revoke_token(self, actor: Actor, token_id: UUID) -> None:
        """Revokes a token everywhere; revoking it again changes nothing."""
        async with self._pool.acquire() as db, db.transaction():
            token = await token_in_scope(db, actor, token_id, "FOR UPDATE")
            if token.revoked_at is not None:
                return
            await repo.revoke_token(db, token_id, actor.subject)
            await record_revocation(db, token_id, token.expires_at)
            await events.emit(db, events.token_revoked(token))
        self._verifier.revoke(token_id)
        log.info("token_revoked", token_id=str(token_id), by=actor.subject)
