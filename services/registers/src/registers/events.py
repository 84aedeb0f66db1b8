"""The events registers writes to its outbox, built from the rows they announce, with the write of
a register's new version that several use cases share; and what the connector's reports on a
register's push mean for its sync status."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from registers import repository as repo
from registers.domain.catalog import percent_text
from registers.domain.inputs import format_cutoff
from registers.domain.sync import SyncMove, after_sync_failed, after_synced, sync_error_text
from registers.domain.tenants import Tier
from registers.repository import PaymentMethodRow, RegisterRow, ShopRow, TenantRow, TokenRow
from registers.repository.catalog import CategoryRow, ProductRow
from registers.repository.customers import CustomerRow
from shared.events.contracts import (
    CustomerCreated,
    CustomerUpdated,
    PaymentMethodCreated,
    PaymentMethodUpdated,
    ProductCategoryCreated,
    ProductCategoryUpdated,
    ProductCreated,
    ProductUpdated,
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
from shared.events.envelope import EventData
from shared.outbox import write_event
from shared.postgres import Db

PRODUCER = "registers"


@dataclass(frozen=True)
class OutgoingEvent:
    data: EventData
    tenant_id: UUID
    aggregate_id: UUID
    aggregate_version: int


async def emit(db: Db, event: OutgoingEvent) -> None:
    """Writes the event in the caller's transaction, so it commits with the change it tells."""
    await write_event(
        db,
        event.data,
        producer=PRODUCER,
        tenant_id=event.tenant_id,
        aggregate_id=event.aggregate_id,
        aggregate_version=event.aggregate_version,
    )


def tenant_created(tenant: TenantRow) -> OutgoingEvent:
    data = TenantCreated(
        tenant_id=tenant.tenant_id,
        name=tenant.name,
        tier=tenant.tier,
        default_currency=tenant.default_currency,
        default_timezone=tenant.default_timezone,
    )
    return OutgoingEvent(data, tenant.tenant_id, tenant.tenant_id, tenant.version)


def tenant_updated(tenant: TenantRow, changed: Iterable[str]) -> OutgoingEvent:
    data = TenantUpdated(
        tenant_id=tenant.tenant_id,
        name=tenant.name,
        tier=tenant.tier,
        default_currency=tenant.default_currency,
        default_timezone=tenant.default_timezone,
        changed=tuple(sorted(changed)),
    )
    return OutgoingEvent(data, tenant.tenant_id, tenant.tenant_id, tenant.version)


def shop_created(shop: ShopRow) -> OutgoingEvent:
    return _shop_state(ShopCreated, shop, ())


def shop_updated(shop: ShopRow, changed: Iterable[str]) -> OutgoingEvent:
    return _shop_state(ShopUpdated, shop, tuple(sorted(changed)))


def _shop_state(
    contract: type[ShopCreated] | type[ShopUpdated], shop: ShopRow, changed: tuple[str, ...]
) -> OutgoingEvent:
    data = contract(
        shop_id=shop.shop_id,
        name=shop.name,
        currency=shop.currency,
        timezone=shop.timezone,
        business_day_cutoff=format_cutoff(shop.business_day_cutoff),
        prices_include_tax=shop.prices_include_tax,
        changed=changed,
    )
    return OutgoingEvent(data, shop.tenant_id, shop.shop_id, shop.version)


def shop_changes_as_register_fields(shop_changed: Iterable[str]) -> tuple[str, ...]:
    """A shop's changed fields as its registers' events name them (each carries its shop)."""
    return tuple("shop_name" if name == "name" else name for name in sorted(shop_changed))


def register_created(register: RegisterRow, shop: ShopRow, tier: Tier) -> OutgoingEvent:
    return _register_state(RegisterCreated, register, shop, tier, ())


def register_updated(
    register: RegisterRow, shop: ShopRow, tier: Tier, changed: Iterable[str]
) -> OutgoingEvent:
    return _register_state(RegisterUpdated, register, shop, tier, tuple(changed))


async def update_and_announce_register(
    db: Db,
    register_id: UUID,
    fields: Mapping[str, Any],
    *,
    shop: ShopRow,
    tier: Tier,
    changed: Iterable[str],
) -> RegisterRow:
    """Sets `fields` (none: only a new version) and writes the event of the new version."""
    updated = await repo.update_register(db, register_id, fields)
    await emit(db, register_updated(updated, shop, tier, changed))
    return updated


def _register_state(
    contract: type[RegisterCreated] | type[RegisterUpdated],
    register: RegisterRow,
    shop: ShopRow,
    tier: Tier,
    changed: tuple[str, ...],
) -> OutgoingEvent:
    """The register with what the orders service needs of its shop and tenant."""
    data = contract(
        register_id=register.register_id,
        shop_id=register.shop_id,
        name=register.name,
        receipt_prefix=register.receipt_prefix,
        active=register.active,
        currency=shop.currency,
        timezone=shop.timezone,
        business_day_cutoff=format_cutoff(shop.business_day_cutoff),
        prices_include_tax=shop.prices_include_tax,
        tenant_tier=tier,
        shop_name=shop.name,
        sync_state=register.sync_state,
        odoo_pos_config_id=register.odoo_pos_config_id,
        changed=changed,
    )
    return OutgoingEvent(data, register.tenant_id, register.register_id, register.version)


def payment_method_created(method: PaymentMethodRow) -> OutgoingEvent:
    return _payment_method_state(PaymentMethodCreated, method, ())


def payment_method_updated(method: PaymentMethodRow, changed: Iterable[str]) -> OutgoingEvent:
    return _payment_method_state(PaymentMethodUpdated, method, tuple(sorted(changed)))


def _payment_method_state(
    contract: type[PaymentMethodCreated] | type[PaymentMethodUpdated],
    method: PaymentMethodRow,
    changed: tuple[str, ...],
) -> OutgoingEvent:
    data = contract(
        payment_method_id=method.payment_method_id,
        code=method.code,
        name=method.name,
        kind=method.kind,
        active=method.active,
        odoo_payment_method_id=method.odoo_payment_method_id,
        changed=changed,
    )
    return OutgoingEvent(data, method.tenant_id, method.payment_method_id, method.version)


def category_changed(
    category: CategoryRow, catalog_revision: int, changed: Iterable[str] | None = None
) -> OutgoingEvent:
    """`changed` None: the category was created."""
    contract = ProductCategoryCreated if changed is None else ProductCategoryUpdated
    data = contract(
        category_id=category.category_id,
        name=category.name,
        odoo_category_id=category.odoo_category_id,
        catalog_revision=catalog_revision,
        changed=tuple(sorted(changed or ())),
    )
    return OutgoingEvent(data, category.tenant_id, category.category_id, category.version)


def product_changed(
    product: ProductRow, catalog_revision: int, changed: Iterable[str] | None = None
) -> OutgoingEvent:
    """`changed` None: the product was created."""
    contract = ProductCreated if changed is None else ProductUpdated
    data = contract(
        product_id=product.product_id,
        reference=product.reference,
        name=product.name,
        category_id=product.category_id,
        prices=dict(product.prices),
        tax_rate_percent=percent_text(product.tax_rate_percent),
        prices_include_tax=product.prices_include_tax,
        shop_ids=tuple(product.shop_ids),
        register_ids=tuple(product.register_ids),
        active=product.active,
        odoo_product_id=product.odoo_product_id,
        catalog_revision=catalog_revision,
        changed=tuple(sorted(changed or ())),
    )
    return OutgoingEvent(data, product.tenant_id, product.product_id, product.version)


def customer_changed(customer: CustomerRow, changed: Iterable[str] | None = None) -> OutgoingEvent:
    """`changed` None: the customer was created."""
    contract = CustomerCreated if changed is None else CustomerUpdated
    data = contract(
        customer_id=customer.customer_id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        vat=customer.vat,
        street=customer.street,
        city=customer.city,
        zip=customer.zip,
        country_code=customer.country_code,
        active=customer.active,
        odoo_partner_id=customer.odoo_partner_id,
        changed=tuple(sorted(changed or ())),
    )
    return OutgoingEvent(data, customer.tenant_id, customer.customer_id, customer.version)


def token_revoked(token: TokenRow) -> OutgoingEvent:
    # A token is revoked once and never changes otherwise: its only event is version 1.
    data = TokenRevoked(token_id=token.token_id, expires_at=token.expires_at)
    return OutgoingEvent(data, token.tenant_id, token.token_id, 1)


def sync_report_move(
    register: RegisterRow, report: RegisterOdooSynced | RegisterOdooSyncFailed
) -> SyncMove:
    """The connector pushed the register to Odoo, or gave up: its sync status after the report."""
    before = register.sync_status
    if isinstance(report, RegisterOdooSynced):
        after = after_synced(
            before,
            odoo_pos_config_id=report.odoo_pos_config_id,
            pushed_name=report.pushed_name,
            pushed_active=report.pushed_active,
            register_version=report.register_version,
            name=register.name,
            active=register.active,
            version=register.version + 1,
        )
    else:
        after = after_sync_failed(
            before,
            register_version=report.register_version,
            error=sync_error_text(report.error_class, report.message),
            attempts=report.attempts,
        )
    return SyncMove(before, after)
