"""What an order may name from the tenant's catalog: a product sold at its register, a customer
of its tenant. Lines without a product id are the tablet's own (tenants without a catalog)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from shared.errors import InvalidRequestError


@dataclass(frozen=True)
class CatalogProduct:
    product_id: UUID
    tenant_id: UUID
    reference: str
    name: str
    shop_ids: Sequence[UUID]
    register_ids: Sequence[UUID]
    active: bool
    odoo_product_id: int | None

    def sold_at(self, register_id: UUID, shop_id: UUID) -> bool:
        everywhere = not self.shop_ids and not self.register_ids
        return everywhere or shop_id in self.shop_ids or register_id in self.register_ids


@dataclass(frozen=True)
class Customer:
    customer_id: UUID
    tenant_id: UUID
    name: str
    active: bool
    odoo_partner_id: int | None


def check_products(
    named: Sequence[UUID | None],
    known: Mapping[UUID, CatalogProduct],
    *,
    register_id: UUID,
    shop_id: UUID,
) -> None:
    """Refuses the first line whose product this register may not sell, naming the line."""
    for index, product_id in enumerate(named):
        if product_id is None:
            continue
        field = f"lines[{index}].product_id"
        product = known.get(product_id)
        if product is None:
            raise InvalidRequestError(
                f"Line {index + 1} names product {product_id}, which this tenant's catalog does "
                "not have. If it was added a moment ago, retry shortly; otherwise reload the "
                "catalog (GET /v1/catalog) on this device.",
                field=field,
            )
        if not product.active:
            raise InvalidRequestError(
                f"Line {index + 1} names product {product.reference} ({product.name}), which is "
                "archived and can no longer be sold; reload the catalog on this device.",
                field=field,
            )
        if not product.sold_at(register_id, shop_id):
            raise InvalidRequestError(
                f"Line {index + 1} names product {product.reference} ({product.name}), which is "
                f"not sold at register {register_id}; reload the catalog on this device.",
                field=field,
            )


def check_customer(customer_id: UUID | None, customer: Customer | None) -> None:
    if customer_id is None:
        return
    if customer is None:
        raise InvalidRequestError(
            f"Customer {customer_id} is not known. If it was added a moment ago, retry "
            "shortly; otherwise look the customer up again (GET /v1/customers).",
            field="customer_id",
        )
    if not customer.active:
        raise InvalidRequestError(
            f"Customer {customer.name} ({customer_id}) is archived; choose another customer "
            "or sell without one.",
            field="customer_id",
        )
