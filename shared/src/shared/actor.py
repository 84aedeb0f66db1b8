"""Who is asking: the one `Actor` every service's use cases take, built from verified claims."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from shared.auth import Role, TokenClaims
from shared.errors import ForbiddenError


@dataclass(frozen=True)
class Actor:
    tenant_id: UUID
    subject: str
    role: Role
    register_id: UUID | None = None

    @classmethod
    def from_claims(cls, claims: TokenClaims) -> Actor:
        if claims.role is Role.CASHIER and claims.register_id is None:
            # Without its register a till's token would have no scope at all.
            raise ForbiddenError(
                "This cashier token names no register; a till needs a device token issued for "
                "its register (POST /v1/tokens with role cashier and register_id)."
            )
        return cls(claims.tenant_id, claims.sub, claims.role, claims.register_id)

    @property
    def is_platform_admin(self) -> bool:
        return self.role is Role.PLATFORM_ADMIN

    def check_register(self, register_id: UUID, action: str) -> None:
        """A cashier is a till's device: it works on its own register only."""
        if self.role is Role.CASHIER and self.register_id != register_id:
            raise ForbiddenError(
                f"This device's token belongs to register {self.register_id}; "
                f"it cannot {action} on register {register_id}."
            )

    def register_scope(self, register_id: UUID | None, action: str) -> UUID | None:
        """The register a list is limited to: a cashier's own, whether it named it or not."""
        if self.role is not Role.CASHIER:
            return register_id
        if register_id is not None:
            self.check_register(register_id, action)
        return self.register_id
