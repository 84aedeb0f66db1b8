"""Registers' use cases, one module per aggregate; `RegisterHandlers` holds them all, as the API,
the consumer and the command line call them.

Each use case is one transaction: load what it needs within the caller's tenant, let the domain
decide, write, and write its events to the outbox. Lock order, the same everywhere so concurrent
changes never deadlock: tenant, then shop, then the registers in id order. Whoever changes a
register holds its row until commit, so the outbox order of its events is the order of its
versions.
"""

from __future__ import annotations

import asyncpg

from registers.domain.tokens import TokenPolicy
from registers.events import PRODUCER
from registers.handlers.catalog import CatalogUseCases
from registers.handlers.customers import CustomerUseCases
from registers.handlers.payment_methods import PaymentMethodUseCases
from registers.handlers.registers import RegisterUseCases
from registers.handlers.shops import ShopUseCases
from registers.handlers.sync_results import SyncResultUseCases
from registers.handlers.tenants import TenantUseCases
from registers.handlers.tokens import TokenUseCases
from shared.actor import Actor
from shared.auth import TokenIssuer, TokenVerifier

__all__ = ["PRODUCER", "Actor", "RegisterHandlers", "TokenPolicy"]


class RegisterHandlers(
    TenantUseCases,
    ShopUseCases,
    RegisterUseCases,
    SyncResultUseCases,
    PaymentMethodUseCases,
    CatalogUseCases,
    CustomerUseCases,
    TokenUseCases,
):
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
