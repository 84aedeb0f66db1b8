-- Replicas of the tenant's catalog and customers, kept from the registers service's events, so
-- an order naming a product or a customer is checked without a call to another service.

CREATE TABLE catalog_products (
    product_id          uuid          PRIMARY KEY,
    tenant_id           uuid          NOT NULL,
    reference           text          NOT NULL,
    name                text          NOT NULL,
    shop_ids            uuid[]        NOT NULL,
    register_ids        uuid[]        NOT NULL,
    active              boolean       NOT NULL,
    odoo_product_id     integer,
    version             integer       NOT NULL,
    updated_at          timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE customers (
    customer_id      uuid        PRIMARY KEY,
    tenant_id        uuid        NOT NULL,
    name             text        NOT NULL,
    active           boolean     NOT NULL,
    odoo_partner_id  integer,
    version          integer     NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE order_lines ADD COLUMN product_id uuid;
ALTER TABLE orders ADD COLUMN customer_id uuid, ADD COLUMN odoo_partner_id integer;
