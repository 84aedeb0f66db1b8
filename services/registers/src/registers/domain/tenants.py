"""Tenants: their tier, and which tenants a caller may see and change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from uuid import UUID

from shared.errors import ForbiddenError

Tier = Literal["starter", "pro"]


def tenant_scope(tenant_id: UUID, *, is_platform_admin: bool) -> UUID | None:
    """The tenant a caller's lookups are confined to; None for the platform, which sees all."""
    return None if is_platform_admin else tenant_id


def in_scope(scope: UUID | None, tenant_id: UUID) -> bool:
    return scope is None or scope == tenant_id


def check_tier_change(
    current: Tier, changes: Mapping[str, object], *, by_platform_admin: bool
) -> None:
    if "tier" in changes and not by_platform_admin:
        # The tier is what the tenant pays for: the platform sets it, as billing would.
        raise ForbiddenError(
            f"Only a platform admin changes a tenant's tier (it is {current}); "
            "ask the platform to upgrade or downgrade this tenant.",
            field="tier",
        )
