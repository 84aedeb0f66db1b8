-- The tenant's customers: who a sale or an invoice is for, and Odoo's partner once linked.

CREATE TABLE customers (
    customer_id      uuid        PRIMARY KEY,
    tenant_id        uuid        NOT NULL REFERENCES tenants,
    seq              bigserial   NOT NULL UNIQUE,
    name             text        NOT NULL,
    email            text,
    phone            text,
    vat              text,
    street           text,
    city             text,
    zip              text,
    country_code     text,
    active           boolean     NOT NULL DEFAULT true,
    odoo_partner_id  integer,
    version          integer     NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_by_tenant ON customers (tenant_id, seq);
-- Addresses are compared as people mean them: Anna@Cafe.com and anna@cafe.com are one customer.
CREATE UNIQUE INDEX customers_email_per_tenant ON customers (tenant_id, lower(email))
    WHERE email IS NOT NULL;
