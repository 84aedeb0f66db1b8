"""Bearer tokens (EdDSA JWTs): tenant, role and, for a device, its register.

Only the registers service holds a signing key; every other service verifies locally with the
public key. The dev key pair below is public knowledge: it signs tokens for `make run` and the
tests, and a service outside dev mode refuses to start with it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID, uuid4

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.problems import Problem

DEV_PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEILOAl/KrtyqQTN0eHn8zHz8bHrnQkFLsHi6u+V7+Oadv
-----END PRIVATE KEY-----
"""
DEV_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA7NN5+Zx9/rUn0YcwxFbKc9b/V4E8hFsejZXzRsBNXc0=
-----END PUBLIC KEY-----
"""
ALGORITHM = "EdDSA"


class Role(StrEnum):
    CASHIER = "cashier"
    MANAGER = "manager"
    ADMIN = "admin"
    # Runs the platform: creates tenants and their first admins. Its tokens carry
    # PLATFORM_TENANT_ID, which owns no data, so no tenant-scoped endpoint shows it anything.
    PLATFORM_ADMIN = "platform_admin"


PLATFORM_TENANT_ID = UUID(int=0)


class TokenClaims(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str
    tenant_id: UUID
    role: Role
    register_id: UUID | None = None
    jti: UUID
    exp: datetime
    iat: datetime | None = None


class KeyConfigurationError(RuntimeError):
    pass


# A service's settings name their environment variables with its prefix (REGISTERS_DEV_MODE);
# callers pass theirs so the advice names a variable that works.
UNKNOWN_PREFIX = "<SERVICE>_"


def public_key_for(configured: str | None, dev_mode: bool, env_prefix: str = UNKNOWN_PREFIX) -> str:
    """The verification key to use, refusing the dev key (or none) outside dev mode."""
    if configured is None or configured.strip() == DEV_PUBLIC_KEY.strip():
        if not dev_mode:
            raise KeyConfigurationError(
                "no production JWT public key is configured (or it is the published dev key); "
                f"set {env_prefix}JWT_PUBLIC_KEY, or {env_prefix}DEV_MODE=true for a local run"
            )
        return DEV_PUBLIC_KEY
    return configured


def private_key_for(
    configured: str | None, dev_mode: bool, env_prefix: str = UNKNOWN_PREFIX
) -> str:
    """The signing key to use, refusing the dev key (or none) outside dev mode."""
    if configured is None or configured.strip() == DEV_PRIVATE_KEY.strip():
        if not dev_mode:
            raise KeyConfigurationError(
                "no production JWT private key is configured (or it is the published dev key); "
                f"set {env_prefix}JWT_PRIVATE_KEY, or {env_prefix}DEV_MODE=true for a local run"
            )
        return DEV_PRIVATE_KEY
    return configured


class TokenIssuer:
    def __init__(self, private_key: str, issuer: str = "pos-platform") -> None:
        self._private_key = private_key
        self._issuer = issuer

    def issue(
        self,
        *,
        subject: str,
        tenant_id: UUID,
        role: Role,
        register_id: UUID | None = None,
        ttl: timedelta = timedelta(hours=12),
        token_id: UUID | None = None,
        issued_at: datetime | None = None,
    ) -> str:
        now = issued_at or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": subject,
            "tenant_id": str(tenant_id),
            "role": role.value,
            "jti": str(token_id or uuid4()),
            "iat": now,
            "exp": now + ttl,
        }
        if register_id is not None:
            claims["register_id"] = str(register_id)
        return jwt.encode(claims, self._private_key, algorithm=ALGORITHM)


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "Not authenticated",
        detail,
        type_="urn:pos:problem:unauthenticated",
        headers={"WWW-Authenticate": "Bearer"},
    )


# How many verified tokens a verifier remembers; a till sends the same one all day, so this is
# far more than a process sees at once, and the oldest are dropped first when it fills.
VERIFIED_TOKENS_KEPT = 10_000


class TokenVerifier:
    """Verifies tokens, remembering each verified one until it expires (checking the signature
    costs more than the rest of a small request); a revoked one is refused whether remembered or
    not."""

    def __init__(
        self,
        public_key: str,
        issuer: str = "pos-platform",
        *,
        verified_tokens_kept: int = VERIFIED_TOKENS_KEPT,
    ) -> None:
        self._public_key = public_key
        self._issuer = issuer
        self._revoked: set[UUID] = set()
        # Raw token -> its claims and its expiry as a Unix time; insertion order is age.
        self._verified: dict[str, tuple[TokenClaims, float]] = {}
        self._verified_kept = verified_tokens_kept

    def revoke(self, token_id: UUID) -> None:
        self._revoked.add(token_id)

    def verify(self, token: str) -> TokenClaims:
        remembered = self._verified.get(token)
        if remembered is not None:
            claims, expires_at = remembered
            if time.time() < expires_at:
                if claims.jti in self._revoked:
                    raise _unauthorized("The token has been revoked.")
                return claims
            del self._verified[token]
        claims = self._decode(token)
        if claims.jti in self._revoked:
            raise _unauthorized("The token has been revoked.")
        self._remember(token, claims)
        return claims

    def _remember(self, token: str, claims: TokenClaims) -> None:
        if len(self._verified) >= self._verified_kept:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (claims, claims.exp.timestamp())

    def _decode(self, token: str) -> TokenClaims:
        try:
            raw = jwt.decode(
                token,
                self._public_key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                options={"require": ["exp", "sub", "jti", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("The token has expired; sign in again.") from None
        except jwt.InvalidTokenError as error:
            raise _unauthorized(f"The token is not valid: {error}.") from None
        try:
            claims = TokenClaims.model_validate(raw)
        except ValidationError:
            raise _unauthorized("The token lacks a tenant or a known role.") from None
        return claims


# Declares the bearer scheme in the OpenAPI document (so /docs can authorize); without
# auto_error, a missing token gets our own 401 problem+json rather than FastAPI's.
_bearer = HTTPBearer(
    auto_error=False,
    description="A token from the registers service: POST /v1/tokens, or "
    "registers platform-admin-token for the first one",
)


# The dependencies are coroutines: FastAPI runs a plain `def` one on a worker thread, a hop that
# costs more than the work itself.
async def current_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenClaims:
    """FastAPI dependency: the verified claims of the request's bearer token."""
    if credentials is None or not credentials.credentials.strip():
        raise _unauthorized("Send a bearer token in the Authorization header.")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(credentials.credentials.strip())


Claims = Annotated[TokenClaims, Depends(current_claims)]


def require_role(claims: TokenClaims, *roles: Role) -> None:
    if claims.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Problem(
            403,
            "Forbidden",
            f"This action needs one of the roles {allowed}; the token's role is {claims.role}.",
            type_="urn:pos:problem:forbidden",
        )


def allow_roles(*roles: Role) -> Callable[[TokenClaims], Awaitable[TokenClaims]]:
    """A route dependency: 403 unless the token's role is one of `roles`.

    Used in a route's `dependencies`, it runs before the body and path are validated, so a caller
    who may not use the route learns nothing about what it takes.
    """
    allowed = [role.value for role in roles]

    async def role_allowed(claims: Claims) -> TokenClaims:
        if claims.role in roles:
            return claims
        detail = (
            f"This action needs one of the roles {', '.join(allowed)}; "
            f"the token's role is {claims.role.value}."
        )
        if claims.role is Role.PLATFORM_ADMIN:
            # The one caller whose next step is not obvious: it owns no tenant's data.
            detail += (
                " A platform admin creates tenants and issues their tokens; to act in a tenant, "
                "issue an admin token for that tenant (POST /v1/tokens with its tenant_id)."
            )
        raise Problem(
            403,
            "Forbidden",
            detail,
            type_="urn:pos:problem:forbidden",
            extra={"allowed_roles": allowed, "role": claims.role.value},
        )

    return role_allowed
