"""HTTP shapes of the registers API: `*Create`/`*Patch` in, `*Public` out. Never used as events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from registers.domain.inputs import valid_cutoff, valid_receipt_prefix, valid_timezone
from registers.domain.sync import SyncState
from registers.domain.tenants import Tier
from registers.domain.tokens import IssuableRole
from shared.http_fields import INT4_MAX, OdooId, PercentString, Text
from shared.money import CurrencyCode, Money

PaymentKind = Literal["cash", "card", "qr", "other"]

Name = Annotated[Text, Field(min_length=1, max_length=120)]
Currency = Annotated[CurrencyCode, Field(min_length=1, max_length=8)]
TimeZone = Annotated[Text, Field(min_length=1, max_length=64), AfterValidator(valid_timezone)]
Cutoff = Annotated[Text, Field(max_length=8), AfterValidator(valid_cutoff)]
ReceiptPrefix = Annotated[
    Text, Field(min_length=1, max_length=32), AfterValidator(valid_receipt_prefix)
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Patch(_Input):
    # The fields a PATCH may set to null, to clear them; any other null is refused.
    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _null_only_where_it_clears(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("cannot be null; leave it out to keep it")
        return value

    def sent(self) -> dict[str, Any]:
        """The fields the caller sent and their values; a PATCH changes only those."""
        return {name: getattr(self, name) for name in self.model_fields_set}


# Tenants.


class TenantCreate(_Input):
    name: Name
    tier: Tier = "starter"
    default_currency: Currency
    default_timezone: TimeZone


class TenantPatch(_Patch):
    name: Name | None = None
    tier: Tier | None = None
    default_currency: Currency | None = None
    default_timezone: TimeZone | None = None


class TenantPublic(BaseModel):
    id: UUID
    name: str
    tier: Tier
    default_currency: str
    default_timezone: str
    version: int
    created_at: datetime
    updated_at: datetime


class TenantPage(BaseModel):
    items: list[TenantPublic]
    next_cursor: str | None


# Shops.


class ShopCreate(_Input):
    name: Name
    currency: Currency | None = Field(default=None, description="Defaults to the tenant's currency")
    timezone: TimeZone | None = Field(default=None, description="Defaults to the tenant's zone")
    business_day_cutoff: Cutoff = "04:00"
    prices_include_tax: bool = True


class ShopPatch(_Patch):
    name: Name | None = None
    currency: Currency | None = None
    timezone: TimeZone | None = None
    business_day_cutoff: Cutoff | None = None
    prices_include_tax: bool | None = None


class ShopPublic(BaseModel):
    id: UUID
    name: str
    currency: str
    timezone: str
    business_day_cutoff: str
    prices_include_tax: bool
    version: int
    created_at: datetime
    updated_at: datetime


class ShopPage(BaseModel):
    items: list[ShopPublic]
    next_cursor: str | None


# Registers.


class RegisterCreate(_Input):
    name: Name
    receipt_prefix: ReceiptPrefix
    odoo_pos_config_id: OdooId | None = Field(
        default=None,
        description="Pro only: the Odoo pos.config this register is; nothing is created in Odoo",
    )


class RegisterPatch(_Patch):
    name: Name | None = None
    receipt_prefix: ReceiptPrefix | None = None
    active: bool | None = None
    odoo_pos_config_id: OdooId | None = Field(
        default=None, description="Links an existing Odoo pos.config (admin); sets synced"
    )


class RegisterSyncPublic(BaseModel):
    state: SyncState
    odoo_pos_config_id: int | None
    attempts: int
    last_error: str | None
    last_error_at: datetime | None
    last_synced_at: datetime | None


class RegisterPublic(BaseModel):
    id: UUID
    shop_id: UUID
    name: str
    receipt_prefix: str
    active: bool
    sync_state: SyncState
    odoo_pos_config_id: int | None
    sync: RegisterSyncPublic
    version: int
    created_at: datetime
    updated_at: datetime


class RegisterPage(BaseModel):
    items: list[RegisterPublic]
    next_cursor: str | None


# Payment methods.


class PaymentMethodCreate(_Input):
    code: Text = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    name: Name
    kind: PaymentKind
    odoo_payment_method_id: OdooId | None = None


class PaymentMethodPatch(_Patch):
    # Clearing the Odoo id unlinks the method from Odoo's.
    nullable = frozenset({"odoo_payment_method_id"})

    name: Name | None = None
    kind: PaymentKind | None = None
    active: bool | None = None
    odoo_payment_method_id: OdooId | None = None


class PaymentMethodPublic(BaseModel):
    id: UUID
    code: str
    name: str
    kind: PaymentKind
    active: bool
    odoo_payment_method_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class PaymentMethodPage(BaseModel):
    items: list[PaymentMethodPublic]
    next_cursor: str | None


# The catalog.


class CategoryCreate(_Input):
    name: Name
    odoo_category_id: OdooId | None = None


class CategoryPatch(_Patch):
    nullable = frozenset({"odoo_category_id"})

    name: Name | None = None
    odoo_category_id: OdooId | None = None


class CategoryPublic(BaseModel):
    id: UUID
    name: str
    odoo_category_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class CategoryPage(BaseModel):
    items: list[CategoryPublic]
    next_cursor: str | None


ProductReference = Annotated[Text, Field(min_length=1, max_length=64, pattern=r"^[^\s].*$")]
Prices = Annotated[
    list[Money],
    Field(
        min_length=1,
        max_length=20,
        description="One price per currency, in minor units; a register sells the product only "
        "if it has a price in the register's currency",
    ),
]
Places = Annotated[list[UUID], Field(max_length=500)]


class ProductCreate(_Input):
    reference: ProductReference = Field(description="Unique in the tenant; Odoo's default_code")
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    category_id: UUID | None = None
    prices: Prices
    tax_rate_percent: PercentString
    prices_include_tax: bool = True
    shop_ids: Places = Field(
        default_factory=list, description="Sold at these shops' registers (with register_ids)"
    )
    register_ids: Places = Field(
        default_factory=list, description="Sold at these registers; both lists empty: everywhere"
    )
    odoo_product_id: OdooId | None = None


class ProductPatch(_Patch):
    # Clearing the category leaves the product uncategorised; clearing the Odoo id unlinks it.
    nullable = frozenset({"category_id", "odoo_product_id"})

    reference: ProductReference | None = None
    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    category_id: UUID | None = None
    prices: Prices | None = None
    tax_rate_percent: PercentString | None = None
    prices_include_tax: bool | None = None
    shop_ids: Places | None = None
    register_ids: Places | None = None
    active: bool | None = None
    odoo_product_id: OdooId | None = None


class ProductPublic(BaseModel):
    id: UUID
    reference: str
    name: str
    category_id: UUID | None
    prices: list[Money]
    tax_rate_percent: str
    prices_include_tax: bool
    shop_ids: list[UUID]
    register_ids: list[UUID]
    active: bool
    odoo_product_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    items: list[ProductPublic]
    next_cursor: str | None


class CatalogItem(BaseModel):
    id: UUID
    reference: str
    name: str
    category_id: UUID | None
    unit_price: Money
    tax_rate_percent: str
    prices_include_tax: bool
    odoo_product_id: int | None


class CatalogCategory(BaseModel):
    id: UUID
    name: str


class RegisterCatalog(BaseModel):
    """What one register may sell, in its currency; poll with If-None-Match for a cheap 304."""

    register_id: UUID
    currency: str
    categories: list[CatalogCategory]
    products: list[CatalogItem]


# Customers.

Email = Annotated[
    Text,
    Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["anna@example.com"]),
]
Phone = Annotated[Text, Field(min_length=3, max_length=40, pattern=r"^\+?[0-9 ()./-]+$")]
CountryCode = Annotated[
    Text,
    Field(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$", description="ISO 3166, as FR"),
    AfterValidator(str.upper),
]
ShortText = Annotated[Text, Field(min_length=1, max_length=120)]


class CustomerCreate(_Input):
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    email: Email | None = Field(default=None, description="Unique in the tenant, in any case")
    phone: Phone | None = None
    vat: Annotated[Text, Field(min_length=2, max_length=32)] | None = None
    street: ShortText | None = None
    city: ShortText | None = None
    zip: Annotated[Text, Field(min_length=1, max_length=20)] | None = None
    country_code: CountryCode | None = None
    odoo_partner_id: OdooId | None = None


class CustomerPatch(_Patch):
    nullable = frozenset(
        {"email", "phone", "vat", "street", "city", "zip", "country_code", "odoo_partner_id"}
    )

    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    email: Email | None = None
    phone: Phone | None = None
    vat: Annotated[Text, Field(min_length=2, max_length=32)] | None = None
    street: ShortText | None = None
    city: ShortText | None = None
    zip: Annotated[Text, Field(min_length=1, max_length=20)] | None = None
    country_code: CountryCode | None = None
    active: bool | None = None
    odoo_partner_id: OdooId | None = None


class CustomerPublic(BaseModel):
    id: UUID
    name: str
    email: str | None
    phone: str | None
    vat: str | None
    street: str | None
    city: str | None
    zip: str | None
    country_code: str | None
    active: bool
    odoo_partner_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerPublic]
    next_cursor: str | None


# Tokens.


class TokenCreate(_Input):
    role: IssuableRole
    subject: Text = Field(
        min_length=1, max_length=200, description="Who or what holds it: a person or a device"
    )
    register_id: UUID | None = Field(default=None, description="Required for a cashier device")
    tenant_id: UUID | None = Field(
        default=None, description="Platform admins only: the tenant the token is for"
    )
    ttl_seconds: Annotated[int, Field(gt=0, le=INT4_MAX)] | None = Field(
        default=None, description="Seconds until it expires; the deployment sets the longest"
    )


class TokenPublic(BaseModel):
    id: UUID
    tenant_id: UUID
    role: IssuableRole
    register_id: UUID | None
    subject: str
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class TokenIssued(TokenPublic):
    token: str = Field(description="Shown once; store it on the device or in a password manager")


class TokenPage(BaseModel):
    items: list[TokenPublic]
    next_cursor: str | None
