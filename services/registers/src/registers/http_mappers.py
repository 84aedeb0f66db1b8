"""Rows to HTTP shapes: what the API shows of each record, and pages of them; and the other way,
a create request's body to the row it writes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from registers.domain.catalog import percent_text, prices_by_currency
from registers.domain.inputs import format_cutoff, parse_cutoff
from registers.domain.sync import SyncStatus
from registers.http_models import (
    CatalogCategory,
    CatalogItem,
    CategoryCreate,
    CategoryPage,
    CategoryPublic,
    CustomerCreate,
    CustomerPage,
    CustomerPublic,
    PaymentMethodCreate,
    PaymentMethodPage,
    PaymentMethodPublic,
    ProductCreate,
    ProductPage,
    ProductPublic,
    RegisterCatalog,
    RegisterCreate,
    RegisterPage,
    RegisterPublic,
    RegisterSyncPublic,
    ShopCreate,
    ShopPage,
    ShopPatch,
    ShopPublic,
    TenantCreate,
    TenantPage,
    TenantPublic,
    TokenCreate,
    TokenIssued,
    TokenPage,
    TokenPublic,
)
from registers.repository import (
    NewPaymentMethod,
    NewRegister,
    NewShop,
    NewTenant,
    NewToken,
    PaymentMethodRow,
    RegisterRow,
    ShopRow,
    TenantRow,
    TokenRow,
)
from registers.repository.catalog import CategoryRow, NewCategory, NewProduct, ProductRow
from registers.repository.customers import CustomerRow, NewCustomer
from shared.money import Money
from shared.pagination import encode_cursor


class _Listed(Protocol):
    @property
    def seq(self) -> int: ...


def _next_cursor(rows: Sequence[_Listed], limit: int) -> str | None:
    """A full page may have a next one, which starts after its last row."""
    return encode_cursor(rows[-1].seq) if len(rows) == limit else None


def tenant_public(row: TenantRow) -> TenantPublic:
    return TenantPublic(
        id=row.tenant_id,
        name=row.name,
        tier=row.tier,
        default_currency=row.default_currency,
        default_timezone=row.default_timezone,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def tenant_page(rows: Sequence[TenantRow], limit: int) -> TenantPage:
    return TenantPage(
        items=[tenant_public(row) for row in rows], next_cursor=_next_cursor(rows, limit)
    )


def shop_public(row: ShopRow) -> ShopPublic:
    return ShopPublic(
        id=row.shop_id,
        name=row.name,
        currency=row.currency,
        timezone=row.timezone,
        business_day_cutoff=format_cutoff(row.business_day_cutoff),
        prices_include_tax=row.prices_include_tax,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def shop_patch_fields(body: ShopPatch) -> dict[str, Any]:
    """The fields a shop PATCH sends, its cutoff as the time of day the row keeps."""
    wanted = body.sent()
    if "business_day_cutoff" in wanted:
        wanted["business_day_cutoff"] = parse_cutoff(wanted["business_day_cutoff"])
    return wanted


def shop_page(rows: Sequence[ShopRow], limit: int) -> ShopPage:
    return ShopPage(items=[shop_public(row) for row in rows], next_cursor=_next_cursor(rows, limit))


def register_public(row: RegisterRow) -> RegisterPublic:
    sync = RegisterSyncPublic(
        state=row.sync_state,
        odoo_pos_config_id=row.odoo_pos_config_id,
        attempts=row.sync_attempts,
        last_error=row.last_sync_error,
        last_error_at=row.last_sync_error_at,
        last_synced_at=row.last_synced_at,
    )
    return RegisterPublic(
        id=row.register_id,
        shop_id=row.shop_id,
        name=row.name,
        receipt_prefix=row.receipt_prefix,
        active=row.active,
        sync_state=row.sync_state,
        odoo_pos_config_id=row.odoo_pos_config_id,
        sync=sync,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def register_page(rows: Sequence[RegisterRow], limit: int) -> RegisterPage:
    return RegisterPage(
        items=[register_public(row) for row in rows], next_cursor=_next_cursor(rows, limit)
    )


def payment_method_public(row: PaymentMethodRow) -> PaymentMethodPublic:
    return PaymentMethodPublic(
        id=row.payment_method_id,
        code=row.code,
        name=row.name,
        kind=row.kind,
        active=row.active,
        odoo_payment_method_id=row.odoo_payment_method_id,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def payment_method_page(rows: Sequence[PaymentMethodRow], limit: int) -> PaymentMethodPage:
    return PaymentMethodPage(
        items=[payment_method_public(row) for row in rows], next_cursor=_next_cursor(rows, limit)
    )


def token_public(row: TokenRow) -> TokenPublic:
    return TokenPublic(
        id=row.token_id,
        tenant_id=row.tenant_id,
        role=row.role,
        register_id=row.register_id,
        subject=row.subject,
        issued_by=row.issued_by,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def token_issued(row: TokenRow, token: str) -> TokenIssued:
    """The issued token's record, with the token itself, shown this once."""
    return TokenIssued(**token_public(row).model_dump(), token=token)


def token_page(rows: Sequence[TokenRow], limit: int) -> TokenPage:
    return TokenPage(
        items=[token_public(row) for row in rows], next_cursor=_next_cursor(rows, limit)
    )


# Create requests to the rows they write, each under a new id.


def new_tenant(body: TenantCreate) -> NewTenant:
    return NewTenant(
        tenant_id=uuid.uuid4(),
        name=body.name,
        tier=body.tier,
        default_currency=body.default_currency,
        default_timezone=body.default_timezone,
    )


def new_shop(body: ShopCreate, tenant: TenantRow) -> NewShop:
    """A shop that names no currency or time zone takes its tenant's."""
    return NewShop(
        shop_id=uuid.uuid4(),
        tenant_id=tenant.tenant_id,
        name=body.name,
        currency=body.currency or tenant.default_currency,
        timezone=body.timezone or tenant.default_timezone,
        business_day_cutoff=parse_cutoff(body.business_day_cutoff),
        prices_include_tax=body.prices_include_tax,
    )


def new_register(body: RegisterCreate, shop: ShopRow, sync: SyncStatus) -> NewRegister:
    return NewRegister(
        register_id=uuid.uuid4(),
        tenant_id=shop.tenant_id,
        shop_id=shop.shop_id,
        name=body.name,
        receipt_prefix=body.receipt_prefix,
        sync_state=sync.state,
        odoo_pos_config_id=sync.odoo_pos_config_id,
    )


def new_payment_method(body: PaymentMethodCreate, tenant_id: uuid.UUID) -> NewPaymentMethod:
    return NewPaymentMethod(
        payment_method_id=uuid.uuid4(),
        tenant_id=tenant_id,
        code=body.code,
        name=body.name,
        kind=body.kind,
        odoo_payment_method_id=body.odoo_payment_method_id,
    )


def new_token(body: TokenCreate, tenant_id: uuid.UUID, issued_by: str, ttl: timedelta) -> NewToken:
    """Issued now to the whole second, as the token's own times are, and expiring `ttl` later."""
    issued_at = datetime.now(UTC).replace(microsecond=0)
    return NewToken(
        token_id=uuid.uuid4(),
        tenant_id=tenant_id,
        role=body.role,
        register_id=body.register_id,
        subject=body.subject,
        issued_by=issued_by,
        issued_at=issued_at,
        expires_at=issued_at + ttl,
    )


# The catalog.


def new_category(body: CategoryCreate, tenant_id: uuid.UUID) -> NewCategory:
    return NewCategory(
        category_id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=body.name,
        odoo_category_id=body.odoo_category_id,
    )


def category_public(row: CategoryRow) -> CategoryPublic:
    return CategoryPublic(
        id=row.category_id,
        name=row.name,
        odoo_category_id=row.odoo_category_id,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def category_page(rows: Sequence[CategoryRow], limit: int) -> CategoryPage:
    return CategoryPage(
        items=[category_public(row) for row in rows], next_cursor=_next_cursor(rows, limit)
    )


def stored_prices(prices: Sequence[Money]) -> dict[str, int]:
    return prices_by_currency((price.currency, price.amount) for price in prices)


def new_product(body: ProductCreate, tenant_id: uuid.UUID) -> NewProduct:
    return NewProduct(
        product_id=uuid.uuid4(),
        tenant_id=tenant_id,
        reference=body.reference,
        name=body.name,
        category_id=body.category_id,
        prices=stored_prices(body.prices),
        tax_rate_percent=Decimal(body.tax_rate_percent),
        prices_include_tax=body.prices_include_tax,
        shop_ids=list(dict.fromkeys(body.shop_ids)),
        register_ids=list(dict.fromkeys(body.register_ids)),
        odoo_product_id=body.odoo_product_id,
    )


def product_public(row: ProductRow) -> ProductPublic:
    return ProductPublic(
        id=row.product_id,
        reference=row.reference,
        name=row.name,
        category_id=row.category_id,
        prices=[Money(amount=amount, currency=code) for code, amount in sorted(row.prices.items())],
        tax_rate_percent=percent_text(row.tax_rate_percent),
        prices_include_tax=row.prices_include_tax,
        shop_ids=list(row.shop_ids),
        register_ids=list(row.register_ids),
        active=row.active,
        odoo_product_id=row.odoo_product_id,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def product_page(rows: Sequence[ProductRow], limit: int) -> ProductPage:
    return ProductPage(
        items=[product_public(row) for row in rows], next_cursor=_next_cursor(rows, limit)
    )


def register_catalog(
    register_id: uuid.UUID,
    currency: str,
    products: Sequence[ProductRow],
    categories: Sequence[CategoryRow],
) -> RegisterCatalog:
    return RegisterCatalog(
        register_id=register_id,
        currency=currency,
        categories=[CatalogCategory(id=row.category_id, name=row.name) for row in categories],
        products=[
            CatalogItem(
                id=row.product_id,
                reference=row.reference,
                name=row.name,
                category_id=row.category_id,
                unit_price=Money(amount=row.prices[currency], currency=currency),
                tax_rate_percent=percent_text(row.tax_rate_percent),
                prices_include_tax=row.prices_include_tax,
                odoo_product_id=row.odoo_product_id,
            )
            for row in products
        ],
    )


# Customers.


def new_customer(body: CustomerCreate, tenant_id: uuid.UUID) -> NewCustomer:
    return NewCustomer(customer_id=uuid.uuid4(), tenant_id=tenant_id, **body.model_dump())


def customer_public(row: CustomerRow) -> CustomerPublic:
    return CustomerPublic(
        id=row.customer_id,
        name=row.name,
        email=row.email,
        phone=row.phone,
        vat=row.vat,
        street=row.street,
        city=row.city,
        zip=row.zip,
        country_code=row.country_code,
        active=row.active,
        odoo_partner_id=row.odoo_partner_id,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def customer_page(rows: Sequence[CustomerRow], limit: int) -> CustomerPage:
    return CustomerPage(
        items=[customer_public(row) for row in rows], next_cursor=_next_cursor(rows, limit)
    )
