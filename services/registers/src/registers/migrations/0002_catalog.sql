-- The tenant's catalog: categories and products a register may sell. Every write bumps the
-- tenant's catalog revision in the same transaction, so a tablet's ETag changes with any of them.

ALTER TABLE tenants ADD COLUMN catalog_revision bigint NOT NULL DEFAULT 0;

CREATE TABLE product_categories (
    category_id       uuid        PRIMARY KEY,
    tenant_id         uuid        NOT NULL REFERENCES tenants,
    seq               bigserial   NOT NULL UNIQUE,
    name              text        NOT NULL,
    odoo_category_id  integer,
    version           integer     NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE INDEX product_categories_by_tenant ON product_categories (tenant_id, seq);

CREATE TABLE products (
    product_id          uuid          PRIMARY KEY,
    tenant_id           uuid          NOT NULL REFERENCES tenants,
    seq                 bigserial     NOT NULL UNIQUE,
    reference           text          NOT NULL,
    name                text          NOT NULL,
    category_id         uuid          REFERENCES product_categories,
    -- Minor units per currency, {"EUR": 350}: a register sells a product only in its currency.
    prices              jsonb         NOT NULL,
    tax_rate_percent    numeric(7, 3) NOT NULL,
    prices_include_tax  boolean       NOT NULL,
    -- Both empty: sold everywhere; otherwise at these shops' registers and at these registers.
    shop_ids            uuid[]        NOT NULL DEFAULT '{}',
    register_ids        uuid[]        NOT NULL DEFAULT '{}',
    active              boolean       NOT NULL DEFAULT true,
    odoo_product_id     integer,
    version             integer       NOT NULL DEFAULT 1,
    created_at          timestamptz   NOT NULL DEFAULT now(),
    updated_at          timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, reference)
);
CREATE INDEX products_by_tenant ON products (tenant_id, seq);
CREATE INDEX products_by_category ON products (category_id) WHERE category_id IS NOT NULL;
