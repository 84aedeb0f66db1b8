"""A register's own cash journal and cash payment method in Odoo, for a pos.config cloned from a
template that has a cash method: Odoo lets a cash method serve one pos.config only, and one cash
journal carry one cash method only (odoo-api.md 5), so the clone needs both of its own.

Each is found again before it is made: by our external id, else (after an answer lost before
the external id was written) by what identifies it. The journal's code, reserved here before
the create, is unique per company in Odoo; the method is the one on the register's journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog

from odoo_connector import repository as repo
from odoo_connector.domain import cash_journal_code
from odoo_connector.odoo_pos import OdooPos, TenantOdoo, xmlid_name
from shared.events.contracts import RegisterState
from shared.postgres import Db

log = structlog.get_logger(__name__)

JOURNAL = "account.journal"
METHOD = "pos.payment.method"
# Two registers of a tenant reserving codes at once: the loser takes the next free one.
_RESERVE_TRIES = 5


@dataclass(frozen=True)
class TemplateCash:
    """What the register's cash method copies from the template."""

    company_id: int | None
    currency_id: int | None
    # The template's other (non-cash) payment methods, which the clone shares.
    shared_method_ids: list[int]


@dataclass(frozen=True)
class RegisterCash:
    """The register's cash journal and method in the tenant's Odoo, under the register's lock."""

    odoo_pos: OdooPos
    db: Db
    odoo: TenantOdoo
    tenant_id: UUID
    register: RegisterState
    template: TemplateCash

    async def method(self) -> int:
        """The register's cash payment method, made (journal first) unless an earlier try did."""
        register_id = self.register.register_id
        row = await repo.cash_method_of(self.db, register_id)
        if row is not None and row.odoo_payment_method_id is not None:
            return row.odoo_payment_method_id
        journal_id = row.odoo_journal_id if row is not None else None
        if journal_id is None:
            journal_id = await self._journal(row)
        method_id = (
            await self._found_again(METHOD, [["journal_id", "=", journal_id]])
            if row is not None
            else None
        )
        if method_id is None:
            values = self._in_company(
                {"name": f"Cash ({self.register.name})", "journal_id": journal_id}
            )
            method_id = await self.odoo_pos.create(self.odoo, METHOD, values)
            await self.odoo_pos.claim(self.odoo, METHOD, _xmlid(METHOD, register_id), method_id)
        await repo.record_cash_method(
            self.db, register_id, method_id, [*self.template.shared_method_ids, method_id]
        )
        log.info(
            "register_cash_method_ready",
            odoo_journal_id=journal_id,
            odoo_payment_method_id=method_id,
        )
        return method_id

    async def _journal(self, row: repo.CashMethodRow | None) -> int:
        register_id = self.register.register_id
        journal_id = None
        if row is not None:
            code = row.journal_code
            domain = self._in_company_domain([["code", "=", code], ["type", "=", "cash"]])
            journal_id = await self._found_again(JOURNAL, domain)
        else:
            code = await self._reserve_code()
        if journal_id is None:
            values = self._in_company(
                {"name": f"Cash {self.register.name}", "code": code, "type": "cash"}
            )
            if self.template.currency_id is not None:
                # The register's methods must be in its sales journal's currency, as the template's.
                values["currency_id"] = self.template.currency_id
            journal_id = await self.odoo_pos.create(self.odoo, JOURNAL, values)
            await self.odoo_pos.claim(self.odoo, JOURNAL, _xmlid(JOURNAL, register_id), journal_id)
        await repo.record_cash_journal(self.db, register_id, journal_id)
        return journal_id

    async def _found_again(self, model: str, domain: list[Any]) -> int | None:
        """A record an earlier try made: by our external id, else by what only it matches (then
        given the external id it missed)."""
        name = _xmlid(model, self.register.register_id)
        found = await self.odoo_pos.by_external_id(self.odoo, model, name)
        if found is not None:
            return found
        found = await self.odoo_pos.first_id(self.odoo, model, domain)
        if found is not None:
            await self.odoo_pos.claim(self.odoo, model, name, found)
            log.warning("cash_record_found_after_lost_answer", model=model, res_id=found)
        return found

    async def _reserve_code(self) -> str:
        taken = await self.odoo_pos.journal_codes(self.odoo, self.template.company_id)
        for _ in range(_RESERVE_TRIES):
            reserved = await repo.reserved_journal_codes(self.db, self.tenant_id)
            code = cash_journal_code(taken | reserved)
            if await repo.reserve_journal_code(
                self.db, self.register.register_id, self.tenant_id, code
            ):
                return code
            taken.add(code)
        raise RuntimeError(
            f"no cash journal code could be reserved for {self.register.register_id}"
        )

    def _in_company(self, values: dict[str, Any]) -> dict[str, Any]:
        if self.template.company_id is not None:
            values["company_id"] = self.template.company_id
        return values

    def _in_company_domain(self, domain: list[Any]) -> list[Any]:
        if self.template.company_id is not None:
            domain.append(["company_id", "=", self.template.company_id])
        return domain


def _xmlid(model: str, register_id: UUID) -> str:
    return xmlid_name("cash_journal" if model == JOURNAL else "cash_method", register_id)
