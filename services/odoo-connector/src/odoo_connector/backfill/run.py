"""One backfill run for one tenant: read its Odoo, make and link the registers its history needs,
send the plan batch by batch, and report what went and what stayed out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from odoo_connector import repository as repo
from odoo_connector.backfill.plan import (
    Skipped,
    Target,
    batch_body,
    batches,
    orders_pushed_from_here,
    our_methods,
    plan_history,
    receipt_prefixes,
)
from odoo_connector.backfill.services_api import (
    BackfillError,
    Imported,
    ImportSummary,
    ServicesApi,
    ShopSeen,
)
from odoo_connector.domain import (
    OdooConcurrencyFailure,
    OdooCredentialsRejected,
    OdooRejectedCallError,
)
from odoo_connector.odoo_client import OdooEndpoint, OdooError, OdooUnavailable
from odoo_connector.odoo_history import HistoryReader, OdooHistory
from odoo_connector.odoo_pos import OdooPos
from shared.retry_topology import WaitForPrerequisite
from shared.secret_box import SecretBox

log = structlog.get_logger(__name__)


@dataclass
class Counts:
    new: int = 0
    already_present: int = 0


@dataclass
class BackfillReport:
    tenant_id: UUID
    odoo_version: int
    dry_run: bool
    sessions: Counts = field(default_factory=Counts)
    orders: Counts = field(default_factory=Counts)
    refunds: Counts = field(default_factory=Counts)
    cancelled: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    registers_created: list[str] = field(default_factory=list)
    # pos.config id -> the register made for it and linked (synced) by this run.
    registers_linked: dict[int, UUID] = field(default_factory=dict)
    orders_in_open_sessions: int = 0
    batches: list[dict[str, Any]] = field(default_factory=list)

    def skipped_count(self, kind: str) -> int:
        return sum(1 for s in self.skipped if s.kind == kind)


@dataclass(frozen=True)
class BackfillOptions:
    tenant_id: UUID
    since: date | None = None
    dry_run: bool = False
    shop_id: UUID | None = None


Progress = Callable[[int, int], None]


async def ensure_registers(
    api: ServicesApi,
    history: OdooHistory,
    options: BackfillOptions,
    report: BackfillReport,
) -> dict[int, Target]:
    """A register per pos.config with history to import; missing ones made and linked."""
    shops = {s.id: s for s in await api.shops()}
    registers = await api.registers()
    targets: dict[int, Target] = {}
    for register in registers:
        config_id = register.odoo_pos_config_id
        shop = shops.get(register.shop_id)
        if config_id and shop and config_id not in targets:
            targets[config_id] = Target(UUID(register.id), shop.currency)
    wanted = sorted({s.config_id for s in history.sessions} - set(targets))
    if not wanted:
        return targets
    shop = _shop_for_new_registers(list(shops.values()), options.shop_id)
    for config_id in wanted:
        config = history.configs.get(config_id)
        name = (config.name if config else f"Odoo register {config_id}")[:120]
        prefixes = receipt_prefixes(config_id)
        report.registers_created.append(f"{name} ({prefixes[0]}) in shop {shop.name}")
        if options.dry_run:
            # Mapped as if it existed, so the dry run shows what its history would be.
            targets[config_id] = Target(UUID(int=config_id), shop.currency)
            continue
        # An unlinked `ODOO<id>` (made by hand, or by an older run that linked in a second step)
        # is the one to link.
        leftover = next(
            (r for r in registers if r.receipt_prefix == prefixes[0] and not r.odoo_pos_config_id),
            None,
        )
        linked = (
            await api.link_register(leftover.id, config_id)
            if leftover
            else await api.create_register(shop.id, name, prefixes, config_id)
        )
        log.info("backfill_register_linked", register_id=linked.id, pos_config_id=config_id)
        if linked.sync_state != "synced" or linked.odoo_pos_config_id != config_id:
            raise BackfillError(
                f"register {linked.id} was not linked to pos.config {config_id}: it is "
                f"{linked.sync_state} with pos.config {linked.odoo_pos_config_id}"
            )
        report.registers_linked[config_id] = UUID(linked.id)
        targets[config_id] = Target(UUID(linked.id), shops[linked.shop_id].currency)
    return targets


def _shop_for_new_registers(shops: list[ShopSeen], shop_id: UUID | None) -> ShopSeen:
    if shop_id is not None:
        for shop in shops:
            if shop.id == str(shop_id):
                return shop
        raise BackfillError(f"the tenant has no shop {shop_id}")
    if len(shops) == 1:
        return shops[0]
    if not shops:
        raise BackfillError("the tenant has no shop to put the Odoo registers in; create one")
    names = ", ".join(f"{s.name} ({s.id})" for s in shops)
    raise BackfillError(
        f"some pos.configs have no register here and the tenant has several shops ({names}); "
        "name the one for them with --shop"
    )


async def run_backfill(
    history: OdooHistory,
    api: ServicesApi,
    options: BackfillOptions,
    pushed_orders: set[int],
    connector_sessions: set[int],
    progress: Progress | None = None,
) -> BackfillReport:
    """Maps the history read from Odoo and hands it to the orders service batch by batch."""
    report = BackfillReport(options.tenant_id, history.version, options.dry_run)
    report.orders_in_open_sessions = history.orders_in_open_sessions
    targets = await ensure_registers(api, history, options, report)
    ours = our_methods(await api.payment_methods())
    plan = plan_history(history, targets, ours, pushed_orders, connector_sessions)
    report.cancelled = plan.cancelled
    report.skipped += plan.skipped
    planned = batches(plan.sessions)
    done = 0
    for batch in planned:
        body = batch_body(batch)
        described = {
            "sessions": [s.session["name"] for s in batch],
            "orders": len(body["orders"]),
            "refunds": len(body["refunds"]),
        }
        report.batches.append(described)
        if options.dry_run:
            report.sessions.new += len(body["sessions"])
            report.orders.new += len(body["orders"])
            report.refunds.new += len(body["refunds"])
        else:
            summary = await api.import_batch(body)
            _add(report, summary)
        done += len(batch)
        if progress is not None:
            progress(done, len(plan.sessions))
    return report


def _add(report: BackfillReport, summary: ImportSummary) -> None:
    for name in ("sessions", "orders", "refunds"):
        counts: Counts = getattr(report, name)
        imported: Imported = getattr(summary, name)
        counts.new += imported.new
        counts.already_present += imported.already_present
    report.skipped += summary.skipped


async def backfill(
    pool: asyncpg.Pool,
    pos: OdooPos,
    secrets: SecretBox,
    api: ServicesApi,
    options: BackfillOptions,
    progress: Progress | None = None,
) -> BackfillReport:
    """One run for one tenant: checks the token, reads its Odoo, sends what is not here yet."""
    tenant_id = options.tenant_id
    tier = await api.tenant_tier(tenant_id)
    if tier != "pro":
        raise BackfillError(f"tenant {tenant_id} is on {tier}, not Pro: no Odoo history")
    async with pool.acquire() as conn:
        settings = await repo.settings(conn, tenant_id)
    if settings is None:
        raise BackfillError(
            f"tenant {tenant_id} has no Odoo settings; PUT /v1/tenants/{tenant_id}/odoo first"
        )
    endpoint = OdooEndpoint(
        settings.url, settings.database, settings.login, secrets.open(settings.secret_encrypted)
    )
    try:
        odoo = await pos.login(endpoint, settings.odoo_version)
        history = await HistoryReader(pos, odoo).read(options.since)
    except (OdooUnavailable, WaitForPrerequisite) as error:
        raise BackfillError(f"Odoo at {settings.url} is unreachable: {error}") from None
    except OdooCredentialsRejected as error:
        raise BackfillError(f"{error}; store the tenant's Odoo settings again") from None
    except (OdooRejectedCallError, OdooConcurrencyFailure, OdooError) as error:
        raise BackfillError(f"Odoo at {settings.url} refused a read: {error}") from None
    async with pool.acquire() as conn:
        traces = await repo.connector_traces(
            conn, tenant_id, [o.pos_reference for o in history.orders if o.pos_reference]
        )
    log.info(
        "backfill_read",
        tenant_id=str(tenant_id),
        sessions=len(history.sessions),
        orders=len(history.orders),
    )
    return await run_backfill(
        history,
        api,
        options,
        orders_pushed_from_here(history.orders, traces),
        set(traces.odoo_session_ids),
        progress,
    )
