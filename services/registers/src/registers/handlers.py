"""Registers' use cases: each one a transaction that changes state and writes its events.

Lock order, the same everywhere so concurrent changes never deadlock: tenant, then shop, then the
registers in id order. Whoever changes a register holds its row until commit, so the outbox order
of its events is the order of its versions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import structlog

from registers import repository as repo
from registers.domain import (
    SyncStatus,
    Tier,
    after_adopt,
    after_edit,
    after_retry,
    after_sync_failed,
    after_synced,
    after_tier_change,
    format_cutoff,
    initial_status,
    parse_cutoff,
)
from registers.http_models import (
    PaymentMethodCreate,
    PaymentMethodPage,
    PaymentMethodPatch,
    PaymentMethodPublic,
    RegisterCreate,
    RegisterPage,
    RegisterPatch,
    RegisterPublic,
    RegisterSyncPublic,
    ShopCreate,
    ShopPage,
    ShopPatch,
    ShopPublic,
    TenantCreate,
    TenantPage,
    TenantPatch,
    TenantPublic,
    TokenCreate,
    TokenIssued,
    TokenPage,
    TokenPublic,
)
from shared.auth import PLATFORM_TENANT_ID, Role, TokenClaims, TokenIssuer, TokenVerifier
from shared.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PreconditionFailedError,
)
from shared.events.contracts import (
    PaymentMethodCreated,
    PaymentMethodUpdated,
    RegisterCreated,
    RegisterOdooSynced,
    RegisterOdooSyncFailed,
    RegisterUpdated,
    ShopCreated,
    ShopUpdated,
    TenantCreated,
    TenantUpdated,
    TokenRevoked,
)
from shared.events.envelope import EventData, EventEnvelope
from shared.outbox import write_event
from shared.pagination import decode_cursor, encode_cursor
from shared.postgres import Db
from shared.revocation import record_revocation

log = structlog.get_logger(__name__)

PRODUCER = "registers"
PageItem = TypeVar("PageItem")


@dataclass(frozen=True)
class Actor:
    tenant_id: UUID
    subject: str
    role: Role

    @classmethod
    def from_claims(cls, claims: TokenClaims) -> Actor:
        return cls(claims.tenant_id, claims.sub, claims.role)

    @property
    def is_platform_admin(self) -> bool:
        return self.role is Role.PLATFORM_ADMIN


@dataclass(frozen=True)
class TokenPolicy:
    device_ttl: timedelta
    person_ttl: timedelta
    max_ttl: timedelta


def expected_version(if_match: str | None) -> int | None:
    """The version an `If-Match` header names (our ETags are `"<version>"`), if one was sent."""
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    # Our versions are Postgres integers: at most 10 ASCII digits ("²" and "٣" are digits too).
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise InvalidRequestError(
            f'If-Match must be an ETag this API gave out, such as "3"; got {if_match!r}.',
            field="If-Match",
        )
    return int(text)


def _check_version(row: repo.Row, expected: int | None, what: str) -> None:
    if expected is not None and expected != row["version"]:
        raise PreconditionFailedError(
            f"The {what} changed since you read it (it is at version {row['version']}, your "
            f"If-Match names {expected}); read it again and reapply your change."
        )


def _page(
    rows: Sequence[repo.Row], limit: int, to_public: Callable[[repo.Row], PageItem]
) -> tuple[list[PageItem], str | None]:
    items = [to_public(row) for row in rows]
    cursor = encode_cursor(rows[-1]["seq"]) if len(rows) == limit else None
    return items, cursor


def _changes(row: repo.Row, wanted: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in wanted.items() if row[name] != value}


# Row to HTTP shape: the columns carry the public names, apart from the id.


def tenant_public(row: repo.Row) -> TenantPublic:
    return TenantPublic.model_validate({**row, "id": row["tenant_id"]})


def shop_public(row: repo.Row) -> ShopPublic:
    cutoff = format_cutoff(row["business_day_cutoff"])
    return ShopPublic.model_validate({**row, "id": row["shop_id"], "business_day_cutoff": cutoff})


def register_public(row: repo.Row) -> RegisterPublic:
    sync = RegisterSyncPublic(
        state=row["sync_state"],
        odoo_pos_config_id=row["odoo_pos_config_id"],
        attempts=row["sync_attempts"],
        last_error=row["last_sync_error"],
        last_error_at=row["last_sync_error_at"],
        last_synced_at=row["last_synced_at"],
    )
    return RegisterPublic.model_validate({**row, "id": row["register_id"], "sync": sync})


def payment_method_public(row: repo.Row) -> PaymentMethodPublic:
    return PaymentMethodPublic.model_validate({**row, "id": row["payment_method_id"]})


def token_public(row: repo.Row) -> TokenPublic:
    return TokenPublic.model_validate({**row, "id": row["token_id"]})


def _sync_status(row: repo.Row) -> SyncStatus:
    return SyncStatus(
        state=row["sync_state"],
        odoo_pos_config_id=row["odoo_pos_config_id"],
        budget_version=row["sync_budget_version"],
        attempts=row["sync_attempts"],
        last_error=row["last_sync_error"],
    )


def _sync_fields(before: SyncStatus, after: SyncStatus) -> dict[str, Any]:
    """The register columns a sync transition sets."""
    fields: dict[str, Any] = {
        "sync_state": after.state,
        "odoo_pos_config_id": after.odoo_pos_config_id,
        "sync_budget_version": after.budget_version,
        "sync_attempts": after.attempts,
        "last_sync_error": after.last_error,
    }
    if after.last_error is not None and after.last_error != before.last_error:
        fields["last_sync_error_at"] = datetime.now(UTC)
    if after.state == "synced":
        fields["last_synced_at"] = datetime.now(UTC)
    return fields


def _sync_changed(before: SyncStatus, after: SyncStatus) -> tuple[str, ...]:
    names = []
    if before.state != after.state:
        names.append("sync_state")
    if before.odoo_pos_config_id != after.odoo_pos_config_id:
        names.append("odoo_pos_config_id")
    if before.last_error != after.last_error:
        names.append("last_sync_error")
    return tuple(names)


class RegisterHandlers:
    def __init__(
        self,
        pool: asyncpg.Pool,
        issuer: TokenIssuer,
        verifier: TokenVerifier,
        token_policy: TokenPolicy,
    ) -> None:
        self._pool = pool
        self._issuer = issuer
        self._verifier = verifier
        self._token_policy = token_policy

    async def _emit(
        self, db: Db, data: EventData, *, tenant_id: UUID, aggregate_id: UUID, version: int
    ) -> None:
        await write_event(
            db,
            data,
            producer=PRODUCER,
            tenant_id=tenant_id,
            aggregate_id=aggregate_id,
            aggregate_version=version,
        )

    async def _emit_register(
        self,
        db: Db,
        register: repo.Row,
        *,
        shop: repo.Row,
        tier: str,
        changed: Sequence[str],
        created: bool = False,
    ) -> None:
        contract = RegisterCreated if created else RegisterUpdated
        data = contract(
            register_id=register["register_id"],
            shop_id=register["shop_id"],
            name=register["name"],
            receipt_prefix=register["receipt_prefix"],
            active=register["active"],
            currency=shop["currency"],
            timezone=shop["timezone"],
            business_day_cutoff=format_cutoff(shop["business_day_cutoff"]),
            prices_include_tax=shop["prices_include_tax"],
            tenant_tier=tier,
            shop_name=shop["name"],
            sync_state=register["sync_state"],
            odoo_pos_config_id=register["odoo_pos_config_id"],
            changed=tuple(changed),
        )
        await self._emit(
            db,
            data,
            tenant_id=register["tenant_id"],
            aggregate_id=register["register_id"],
            version=register["version"],
        )

    # Tenants.

    async def _tenant_in_scope(
        self, db: Db, actor: Actor, tenant_id: UUID, lock: repo.Lock = ""
    ) -> repo.Row:
        tenant = None
        if actor.is_platform_admin or tenant_id == actor.tenant_id:
            tenant = await repo.get_tenant(db, tenant_id, lock)
        if tenant is None:
            raise NotFoundError(f"There is no tenant {tenant_id}.")
        return tenant

    async def _own_tenant(self, db: Db, actor: Actor, lock: repo.Lock = "") -> repo.Row:
        tenant = await repo.get_tenant(db, actor.tenant_id, lock)
        if tenant is None:
            raise NotFoundError(
                f"The token's tenant {actor.tenant_id} does not exist (any more); "
                "ask a platform admin for a token of an existing tenant."
            )
        return tenant

    async def create_tenant(self, actor: Actor, body: TenantCreate) -> TenantPublic:
        currency, timezone = body.default_currency, body.default_timezone
        async with self._pool.acquire() as db, db.transaction():
            row = await repo.insert_tenant(
                db, uuid.uuid4(), body.name, body.tier, currency, timezone
            )
            await self._emit(
                db,
                TenantCreated(
                    tenant_id=row["tenant_id"],
                    name=row["name"],
                    tier=row["tier"],
                    default_currency=currency,
                    default_timezone=timezone,
                ),
                tenant_id=row["tenant_id"],
                aggregate_id=row["tenant_id"],
                version=row["version"],
            )
        return tenant_public(row)

    async def get_tenant(self, actor: Actor, tenant_id: UUID) -> TenantPublic:
        async with self._pool.acquire() as db:
            return tenant_public(await self._tenant_in_scope(db, actor, tenant_id))

    async def list_tenants(self, actor: Actor, cursor: str | None, limit: int) -> TenantPage:
        only = None if actor.is_platform_admin else actor.tenant_id
        async with self._pool.acquire() as db:
            rows = await repo.list_tenants(db, only, decode_cursor(cursor), limit)
        items, next_cursor = _page(rows, limit, tenant_public)
        return TenantPage(items=items, next_cursor=next_cursor)

    async def patch_tenant(
        self, actor: Actor, tenant_id: UUID, body: TenantPatch, if_match: str | None
    ) -> TenantPublic:
        wanted = body.sent()
        async with self._pool.acquire() as db, db.transaction():
            tenant = await self._tenant_in_scope(db, actor, tenant_id, "FOR UPDATE")
            _check_version(tenant, expected_version(if_match), "tenant")
            changes = _changes(tenant, wanted)
            if "tier" in changes and not actor.is_platform_admin:
                # The tier is what the tenant pays for: the platform sets it, as billing would.
                raise ForbiddenError(
                    f"Only a platform admin changes a tenant's tier (it is {tenant['tier']}); "
                    "ask the platform to upgrade or downgrade this tenant.",
                    field="tier",
                )
            if not changes:
                return tenant_public(tenant)
            row = await repo.update_tenant(db, tenant_id, changes)
            await self._emit(
                db,
                TenantUpdated(
                    tenant_id=tenant_id,
                    name=row["name"],
                    tier=row["tier"],
                    default_currency=row["default_currency"],
                    default_timezone=row["default_timezone"],
                    changed=tuple(sorted(changes)),
                ),
                tenant_id=tenant_id,
                aggregate_id=tenant_id,
                version=row["version"],
            )
            if "tier" in changes:
                await self._apply_tier(db, tenant_id, row["tier"])
        log.info("tenant_updated", tenant_id=str(tenant_id), changed=sorted(changes))
        return tenant_public(row)

    async def _apply_tier(self, db: Db, tenant_id: UUID, tier: Tier) -> None:
        """Every register learns the tier; Pro queues the Odoo work each one now needs."""
        registers = await repo.lock_registers(db, tenant_id=tenant_id)
        shops = {row["shop_id"]: row for row in await _shops_of(db, registers)}
        for register in registers:
            before = _sync_status(register)
            after = after_tier_change(before, tier, register["active"], register["version"] + 1)
            updated = await repo.update_register(
                db, register["register_id"], _sync_fields(before, after) if after != before else {}
            )
            await self._emit_register(
                db,
                updated,
                shop=shops[register["shop_id"]],
                tier=tier,
                changed=("tenant_tier", *_sync_changed(before, after)),
            )

    # Shops.

    async def create_shop(self, actor: Actor, body: ShopCreate) -> ShopPublic:
        cutoff = parse_cutoff(body.business_day_cutoff)
        async with self._pool.acquire() as db, db.transaction():
            tenant = await self._own_tenant(db, actor, "FOR SHARE")
            currency = body.currency or tenant["default_currency"]
            timezone = body.timezone or tenant["default_timezone"]
            row = await repo.insert_shop(
                db,
                tenant_id=actor.tenant_id,
                shop_id=uuid.uuid4(),
                name=body.name,
                currency=currency,
                timezone=timezone,
                business_day_cutoff=cutoff,
                prices_include_tax=body.prices_include_tax,
            )
            await self._emit(
                db,
                _shop_state(ShopCreated, row, ()),
                tenant_id=actor.tenant_id,
                aggregate_id=row["shop_id"],
                version=row["version"],
            )
        return shop_public(row)

    async def _shop(self, db: Db, actor: Actor, shop_id: UUID, lock: repo.Lock = "") -> repo.Row:
        shop = await repo.get_shop(db, actor.tenant_id, shop_id, lock)
        if shop is None:
            raise NotFoundError(f"There is no shop {shop_id} in this tenant.")
        return shop

    async def get_shop(self, actor: Actor, shop_id: UUID) -> ShopPublic:
        async with self._pool.acquire() as db:
            return shop_public(await self._shop(db, actor, shop_id))

    async def list_shops(self, actor: Actor, cursor: str | None, limit: int) -> ShopPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_shops(db, actor.tenant_id, decode_cursor(cursor), limit)
        items, next_cursor = _page(rows, limit, shop_public)
        return ShopPage(items=items, next_cursor=next_cursor)

    async def patch_shop(
        self, actor: Actor, shop_id: UUID, body: ShopPatch, if_match: str | None
    ) -> ShopPublic:
        wanted = body.sent()
        if "business_day_cutoff" in wanted:
            wanted["business_day_cutoff"] = parse_cutoff(wanted["business_day_cutoff"])
        async with self._pool.acquire() as db, db.transaction():
            tenant = await self._own_tenant(db, actor, "FOR SHARE")
            shop = await self._shop(db, actor, shop_id, "FOR UPDATE")
            _check_version(shop, expected_version(if_match), "shop")
            changes = _changes(shop, wanted)
            if not changes:
                return shop_public(shop)
            if "currency" in changes and await repo.shop_has_registers(db, shop_id):
                raise ConflictError(
                    "A shop's currency cannot change once it has registers: their orders and "
                    "reports are in the old currency. Open a new shop for the new currency.",
                    field="currency",
                )
            row = await repo.update_shop(db, shop_id, changes)
            changed = tuple(sorted(changes))
            await self._emit(
                db,
                _shop_state(ShopUpdated, row, changed),
                tenant_id=actor.tenant_id,
                aggregate_id=shop_id,
                version=row["version"],
            )
            # Registers carry their shop's figures to the orders service: refresh them all.
            register_changed = tuple("shop_name" if name == "name" else name for name in changed)
            for register in await repo.lock_registers(
                db, tenant_id=actor.tenant_id, shop_id=shop_id
            ):
                updated = await repo.update_register(db, register["register_id"], {})
                await self._emit_register(
                    db, updated, shop=row, tier=tenant["tier"], changed=register_changed
                )
        return shop_public(row)

    # Registers.

    async def create_register(
        self, actor: Actor, shop_id: UUID, body: RegisterCreate
    ) -> RegisterPublic:
        prefix = body.receipt_prefix
        async with self._pool.acquire() as db, db.transaction():
            tenant = await self._own_tenant(db, actor, "FOR SHARE")
            shop = await self._shop(db, actor, shop_id, "FOR SHARE")
            status = initial_status(tenant["tier"])
            if body.odoo_pos_config_id is not None:
                # Linked at birth: no create is ever queued, so none can race the link.
                status = after_adopt(status, tenant["tier"], body.odoo_pos_config_id, 1)
            try:
                async with db.transaction():
                    row = await repo.insert_register(
                        db,
                        tenant_id=actor.tenant_id,
                        shop_id=shop_id,
                        register_id=uuid.uuid4(),
                        name=body.name,
                        receipt_prefix=prefix,
                        sync_state=status.state,
                        odoo_pos_config_id=status.odoo_pos_config_id,
                    )
            except asyncpg.UniqueViolationError:
                raise _prefix_taken(prefix) from None
            await self._emit_register(
                db, row, shop=shop, tier=tenant["tier"], changed=(), created=True
            )
        log.info("register_created", register_id=str(row["register_id"]), sync=status.state)
        return register_public(row)

    async def _register(
        self, db: Db, actor: Actor, register_id: UUID, lock: repo.Lock = ""
    ) -> repo.Row:
        register = await repo.get_register(db, actor.tenant_id, register_id, lock)
        if register is None:
            raise NotFoundError(f"There is no register {register_id} in this tenant.")
        return register

    async def get_register(self, actor: Actor, register_id: UUID) -> RegisterPublic:
        async with self._pool.acquire() as db:
            return register_public(await self._register(db, actor, register_id))

    async def list_registers(
        self,
        actor: Actor,
        *,
        shop_id: UUID | None,
        sync_state: str | None,
        cursor: str | None,
        limit: int,
    ) -> RegisterPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_registers(
                db,
                actor.tenant_id,
                shop_id=shop_id,
                sync_state=sync_state,
                before_seq=decode_cursor(cursor),
                limit=limit,
            )
        items, next_cursor = _page(rows, limit, register_public)
        return RegisterPage(items=items, next_cursor=next_cursor)

    async def patch_register(
        self, actor: Actor, register_id: UUID, body: RegisterPatch, if_match: str | None
    ) -> RegisterPublic:
        wanted = body.sent()
        async with self._pool.acquire() as db, db.transaction():
            tenant = await self._own_tenant(db, actor, "FOR SHARE")
            register = await self._register(db, actor, register_id, "FOR UPDATE")
            _check_version(register, expected_version(if_match), "register")
            adopt = wanted.pop("odoo_pos_config_id", None)
            changes = _changes(register, wanted)
            before = _sync_status(register)
            after = before
            if adopt is not None:
                after = after_adopt(after, tenant["tier"], adopt, register["version"] + 1)
            if {"name", "active"} & set(changes):
                active = changes.get("active", register["active"])
                after = after_edit(after, tenant["tier"], active, register["version"] + 1)
            if not changes and after == before:
                return register_public(register)
            if after != before:
                changes.update(_sync_fields(before, after))
            try:
                async with db.transaction():
                    row = await repo.update_register(db, register_id, changes)
            except asyncpg.UniqueViolationError:
                raise _prefix_taken(wanted["receipt_prefix"]) from None
            shop = await self._shop(db, actor, register["shop_id"])
            edited = sorted(set(wanted) & set(changes))
            await self._emit_register(
                db,
                row,
                shop=shop,
                tier=tenant["tier"],
                changed=(*edited, *_sync_changed(before, after)),
            )
        log.info(
            "register_updated",
            register_id=str(register_id),
            changed=edited,
            sync=f"{before.state}->{after.state}",
        )
        return register_public(row)

    async def retry_sync(self, actor: Actor, register_id: UUID) -> RegisterPublic:
        async with self._pool.acquire() as db, db.transaction():
            tenant = await self._own_tenant(db, actor, "FOR SHARE")
            register = await self._register(db, actor, register_id, "FOR UPDATE")
            before = _sync_status(register)
            after = after_retry(before, tenant["tier"], register["version"] + 1)
            row = await repo.update_register(db, register_id, _sync_fields(before, after))
            shop = await self._shop(db, actor, register["shop_id"])
            await self._emit_register(
                db, row, shop=shop, tier=tenant["tier"], changed=_sync_changed(before, after)
            )
        log.info("register_sync_retried", register_id=str(register_id), sync=after.state)
        return register_public(row)

    # What the connector reports.

    async def _locked_for_sync(
        self, db: Db, tenant_id: UUID, register_id: UUID
    ) -> tuple[repo.Row, repo.Row, repo.Row] | None:
        tenant = await repo.get_tenant(db, tenant_id, "FOR SHARE")
        register = await repo.get_register(db, tenant_id, register_id, "FOR UPDATE")
        if tenant is None or register is None:
            log.warning("sync_result_for_unknown_register", register_id=str(register_id))
            return None
        shop = await repo.get_shop(db, tenant_id, register["shop_id"])
        assert shop is not None
        return tenant, register, shop

    async def _record_sync(
        self,
        db: Db,
        envelope: EventEnvelope,
        register_id: UUID,
        transition: Callable[[SyncStatus, repo.Row], SyncStatus],
    ) -> None:
        found = await self._locked_for_sync(db, envelope.tenant_id, register_id)
        if found is None:
            return
        tenant, register, shop = found
        before = _sync_status(register)
        after = transition(before, register)
        if after == before:
            log.info("sync_result_changes_nothing", register_id=str(register_id))
            return
        row = await repo.update_register(db, register_id, _sync_fields(before, after))
        await self._emit_register(
            db, row, shop=shop, tier=tenant["tier"], changed=_sync_changed(before, after)
        )
        log.info(
            "register_sync_recorded",
            register_id=str(register_id),
            sync=f"{before.state}->{after.state}",
        )

    async def record_synced(
        self, db: Db, envelope: EventEnvelope, data: RegisterOdooSynced
    ) -> None:
        await self._record_sync(
            db,
            envelope,
            data.register_id,
            lambda status, register: after_synced(
                status,
                odoo_pos_config_id=data.odoo_pos_config_id,
                pushed_name=data.pushed_name,
                pushed_active=data.pushed_active,
                register_version=data.register_version,
                name=register["name"],
                active=register["active"],
                version=register["version"] + 1,
            ),
        )

    async def record_sync_failed(
        self, db: Db, envelope: EventEnvelope, data: RegisterOdooSyncFailed
    ) -> None:
        await self._record_sync(
            db,
            envelope,
            data.register_id,
            lambda status, _: after_sync_failed(
                status,
                register_version=data.register_version,
                error=f"{data.error_class}: {data.message}"[:1000],
                attempts=data.attempts,
            ),
        )

    # Payment methods.

    async def create_payment_method(
        self, actor: Actor, body: PaymentMethodCreate
    ) -> PaymentMethodPublic:
        async with self._pool.acquire() as db, db.transaction():
            await self._own_tenant(db, actor, "FOR SHARE")
            try:
                async with db.transaction():
                    row = await repo.insert_payment_method(
                        db,
                        tenant_id=actor.tenant_id,
                        payment_method_id=uuid.uuid4(),
                        code=body.code,
                        name=body.name,
                        kind=body.kind,
                        odoo_payment_method_id=body.odoo_payment_method_id,
                    )
            except asyncpg.UniqueViolationError:
                raise ConflictError(
                    f"This tenant already has a payment method with code {body.code!r}; "
                    "codes name a method on receipts and in Odoo, so each is used once.",
                    field="code",
                ) from None
            await self._emit(
                db,
                _payment_method_state(PaymentMethodCreated, row, ()),
                tenant_id=actor.tenant_id,
                aggregate_id=row["payment_method_id"],
                version=row["version"],
            )
        return payment_method_public(row)

    async def _payment_method(
        self, db: Db, actor: Actor, payment_method_id: UUID, lock: repo.Lock = ""
    ) -> repo.Row:
        row = await repo.get_payment_method(db, actor.tenant_id, payment_method_id, lock)
        if row is None:
            raise NotFoundError(f"There is no payment method {payment_method_id} in this tenant.")
        return row

    async def get_payment_method(
        self, actor: Actor, payment_method_id: UUID
    ) -> PaymentMethodPublic:
        async with self._pool.acquire() as db:
            return payment_method_public(await self._payment_method(db, actor, payment_method_id))

    async def list_payment_methods(
        self, actor: Actor, cursor: str | None, limit: int
    ) -> PaymentMethodPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_payment_methods(
                db, actor.tenant_id, decode_cursor(cursor), limit
            )
        items, next_cursor = _page(rows, limit, payment_method_public)
        return PaymentMethodPage(items=items, next_cursor=next_cursor)

    async def patch_payment_method(
        self,
        actor: Actor,
        payment_method_id: UUID,
        body: PaymentMethodPatch,
        if_match: str | None,
    ) -> PaymentMethodPublic:
        wanted = body.sent()
        async with self._pool.acquire() as db, db.transaction():
            current = await self._payment_method(db, actor, payment_method_id, "FOR UPDATE")
            _check_version(current, expected_version(if_match), "payment method")
            changes = _changes(current, wanted)
            if not changes:
                return payment_method_public(current)
            row = await repo.update_payment_method(db, payment_method_id, changes)
            await self._emit(
                db,
                _payment_method_state(PaymentMethodUpdated, row, tuple(sorted(changes))),
                tenant_id=actor.tenant_id,
                aggregate_id=payment_method_id,
                version=row["version"],
            )
        return payment_method_public(row)

    # Tokens.

    async def issue_token(self, actor: Actor, body: TokenCreate) -> TokenIssued:
        role = Role(body.role)
        tenant_id = await self._token_tenant(actor, body, role)
        if role is Role.CASHIER and body.register_id is None:
            raise InvalidRequestError(
                "A cashier token is a device's: name its register in register_id.",
                field="register_id",
            )
        if role is not Role.CASHIER and body.register_id is not None:
            raise InvalidRequestError(
                "Only a cashier (device) token is bound to a register; leave register_id out.",
                field="register_id",
            )
        policy = self._token_policy
        ttl = (
            timedelta(seconds=body.ttl_seconds)
            if body.ttl_seconds is not None
            else policy.device_ttl
            if role is Role.CASHIER
            else policy.person_ttl
        )
        if ttl > policy.max_ttl:
            raise InvalidRequestError(
                f"ttl_seconds may be at most {int(policy.max_ttl.total_seconds())}; "
                "issue a new token when this one nears its expiry.",
                field="ttl_seconds",
            )
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
                if not register["active"]:
                    raise ConflictError(
                        f"Register {body.register_id} is deactivated; reactivate it before "
                        "issuing a token for its device.",
                        field="register_id",
                    )
            row = await repo.insert_token(
                db,
                token_id=token_id,
                tenant_id=tenant_id,
                role=role.value,
                register_id=body.register_id,
                subject=body.subject,
                issued_by=actor.subject,
                issued_at=issued_at,
                expires_at=issued_at + ttl,
            )
        token = self._issuer.issue(
            subject=body.subject,
            tenant_id=tenant_id,
            role=role,
            register_id=body.register_id,
            ttl=ttl,
            token_id=token_id,
            issued_at=issued_at,
        )
        log.info("token_issued", token_id=str(token_id), role=role.value, by=actor.subject)
        return TokenIssued(**token_public(row).model_dump(), token=token)

    async def _token_tenant(self, actor: Actor, body: TokenCreate, role: Role) -> UUID:
        """The tenant a new token belongs to, after checking the caller may issue it."""
        if not actor.is_platform_admin:
            if role is Role.PLATFORM_ADMIN:
                raise ForbiddenError("Only a platform admin issues platform admin tokens.")
            if body.tenant_id not in (None, actor.tenant_id):
                raise ForbiddenError(
                    "An admin issues tokens for its own tenant only; leave tenant_id out."
                )
            return actor.tenant_id
        if role is Role.PLATFORM_ADMIN:
            if body.tenant_id is not None:
                raise InvalidRequestError(
                    "A platform admin token belongs to no tenant; leave tenant_id out.",
                    field="tenant_id",
                )
            return PLATFORM_TENANT_ID
        if body.tenant_id is None:
            raise InvalidRequestError(
                "A platform admin must name the tenant the token is for in tenant_id.",
                field="tenant_id",
            )
        async with self._pool.acquire() as db:
            if await repo.get_tenant(db, body.tenant_id) is None:
                raise NotFoundError(f"There is no tenant {body.tenant_id}.", field="tenant_id")
        return body.tenant_id

    async def list_tokens(self, actor: Actor, cursor: str | None, limit: int) -> TokenPage:
        async with self._pool.acquire() as db:
            rows = await repo.list_tokens(db, actor.tenant_id, decode_cursor(cursor), limit)
        items, next_cursor = _page(rows, limit, token_public)
        return TokenPage(items=items, next_cursor=next_cursor)

    async def revoke_token(self, actor: Actor, token_id: UUID) -> None:
        """Revokes a token everywhere; revoking it again changes nothing."""
        scope = None if actor.is_platform_admin else actor.tenant_id
        async with self._pool.acquire() as db, db.transaction():
            token = await repo.get_token(db, token_id, scope, "FOR UPDATE")
            if token is None:
                raise NotFoundError(f"There is no token {token_id} in this tenant.")
            if token["revoked_at"] is not None:
                return
            await repo.revoke_token(db, token_id, actor.subject)
            await record_revocation(db, token_id, token["expires_at"])
            await self._emit(
                db,
                TokenRevoked(token_id=token_id, expires_at=token["expires_at"]),
                tenant_id=token["tenant_id"],
                aggregate_id=token_id,
                version=1,
            )
        self._verifier.revoke(token_id)
        log.info("token_revoked", token_id=str(token_id), by=actor.subject)


def _prefix_taken(prefix: str) -> ConflictError:
    return ConflictError(
        f"Receipt prefix {prefix} is already used by another register of this tenant; receipt "
        "numbers must not collide, so choose another prefix.",
        field="receipt_prefix",
    )


async def _shops_of(db: Db, registers: Sequence[repo.Row]) -> Sequence[repo.Row]:
    if not registers:
        return []
    tenant_id = registers[0]["tenant_id"]
    shops = []
    for shop_id in {row["shop_id"] for row in registers}:
        shop = await repo.get_shop(db, tenant_id, shop_id)
        assert shop is not None
        shops.append(shop)
    return shops


def _shop_state(
    contract: type[ShopCreated] | type[ShopUpdated], row: repo.Row, changed: tuple[str, ...]
) -> ShopCreated | ShopUpdated:
    return contract(
        shop_id=row["shop_id"],
        name=row["name"],
        currency=row["currency"],
        timezone=row["timezone"],
        business_day_cutoff=format_cutoff(row["business_day_cutoff"]),
        prices_include_tax=row["prices_include_tax"],
        changed=changed,
    )


def _payment_method_state(
    contract: type[PaymentMethodCreated] | type[PaymentMethodUpdated],
    row: repo.Row,
    changed: tuple[str, ...],
) -> PaymentMethodCreated | PaymentMethodUpdated:
    return contract(
        payment_method_id=row["payment_method_id"],
        code=row["code"],
        name=row["name"],
        kind=row["kind"],
        active=row["active"],
        odoo_payment_method_id=row["odoo_payment_method_id"],
        changed=changed,
    )
