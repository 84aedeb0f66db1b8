"""The local catalog and customer replicas: kept from the registers service's events, read by
every sale that names a product or a customer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

import structlog

from orders.domain.catalog import CatalogProduct, Customer, check_customer, check_products
from orders.domain.model import Register
from orders.http_models import OrderCreate
from orders.repository import catalog as repo
from shared.events.contracts import CustomerState, ProductState
from shared.events.envelope import EventEnvelope
from shared.postgres import Db

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SaleCatalog:
    """What one sale names from the catalog, checked: its products and its customer."""

    products: Mapping[UUID, CatalogProduct]
    customer: Customer | None


NOTHING_NAMED = SaleCatalog({}, None)


@dataclass(frozen=True)
class NamedCatalog:
    """The catalog products and customers a set of orders name, read in one go."""

    products: Mapping[UUID, CatalogProduct]
    customers: Mapping[UUID, Customer]

    @classmethod
    async def read(cls, db: Db, tenant_id: UUID, orders: Sequence[OrderCreate]) -> NamedCatalog:
        product_ids = [
            line.product_id for o in orders for line in o.lines if line.product_id is not None
        ]
        customer_ids = [o.customer_id for o in orders if o.customer_id is not None]
        return cls(
            await repo.get_products(db, tenant_id, product_ids),
            await repo.get_customers(db, tenant_id, customer_ids),
        )

    def for_sale(self, body: OrderCreate, register: Register) -> SaleCatalog:
        """Refuses (422, naming the line or the customer) what this register may not sell."""
        check_products(
            [line.product_id for line in body.lines],
            self.products,
            register_id=register.register_id,
            shop_id=register.shop_id,
        )
        customer = self.customers.get(body.customer_id) if body.customer_id else None
        check_customer(body.customer_id, customer)
        return SaleCatalog(self.products, customer)


def names_catalog(body: OrderCreate) -> bool:
    return body.customer_id is not None or any(line.product_id for line in body.lines)


async def catalog_for_sale(
    db: Db, tenant_id: UUID, body: OrderCreate, register: Register
) -> SaleCatalog:
    if not names_catalog(body):
        return NOTHING_NAMED
    return (await NamedCatalog.read(db, tenant_id, [body])).for_sale(body, register)


class CatalogReplicaHandlers:
    async def apply_product_state(
        self, db: Db, envelope: EventEnvelope, data: ProductState
    ) -> None:
        product = CatalogProduct(
            product_id=data.product_id,
            tenant_id=envelope.tenant_id,
            reference=data.reference,
            name=data.name,
            shop_ids=list(data.shop_ids),
            register_ids=list(data.register_ids),
            active=data.active,
            odoo_product_id=data.odoo_product_id,
        )
        if not await repo.upsert_product(db, product, envelope.aggregate_version):
            log.info("product_state_stale", product_id=str(data.product_id))

    async def apply_customer_state(
        self, db: Db, envelope: EventEnvelope, data: CustomerState
    ) -> None:
        customer = Customer(
            customer_id=data.customer_id,
            tenant_id=envelope.tenant_id,
            name=data.name,
            active=data.active,
            odoo_partner_id=data.odoo_partner_id,
        )
        if not await repo.upsert_customer(db, customer, envelope.aggregate_version):
            log.info("customer_state_stale", customer_id=str(data.customer_id))
