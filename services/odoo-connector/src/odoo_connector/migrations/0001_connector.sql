-- What the connector learns from tenant.* and register.* events.
CREATE TABLE tenants (
    tenant_id  uuid PRIMARY KEY,
    tier       text        NOT NULL CHECK (tier IN ('starter', 'pro')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE registers (
    register_id        uuid PRIMARY KEY,
    tenant_id          uuid        NOT NULL,
    tenant_tier        text        NOT NULL,
    sync_state         text        NOT NULL,
    odoo_pos_config_id integer,
    version            bigint      NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Our payment method codes and the Odoo pos.payment.method each maps to.
CREATE TABLE payment_methods (
    tenant_id              uuid    NOT NULL,
    code                   text    NOT NULL,
    odoo_payment_method_id integer,
    active                 boolean NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

-- Each Pro tenant's Odoo; the secret is Fernet-encrypted and never leaves this table in clear.
CREATE TABLE odoo_settings (
    tenant_id         uuid PRIMARY KEY,
    url               text        NOT NULL,
    database          text        NOT NULL,
    login             text        NOT NULL,
    secret_encrypted  bytea       NOT NULL,
    odoo_version      integer,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- product_ref -> product.product found in Odoo by default_code.
CREATE TABLE products (
    tenant_id       uuid    NOT NULL,
    product_ref     text    NOT NULL,
    odoo_product_id integer NOT NULL,
    PRIMARY KEY (tenant_id, product_ref)
);

-- The Odoo pos.session opened for a register's business date.
CREATE TABLE odoo_sessions (
    register_id      uuid        NOT NULL,
    business_date    date        NOT NULL,
    odoo_session_id  integer     NOT NULL,
    pricelist_id     integer,
    state            text        NOT NULL CHECK (state IN ('open', 'closed')),
    opened_at        timestamptz NOT NULL DEFAULT now(),
    closed_at        timestamptz,
    PRIMARY KEY (register_id, business_date)
);

-- Every reference we sent to Odoo at least once: a second sending searches Odoo first.
CREATE TABLE push_attempts (
    reference    text PRIMARY KEY,
    attempted_at timestamptz NOT NULL DEFAULT now()
);

-- Orders and refunds that are in Odoo, with the ids Odoo gave them.
CREATE TABLE synced_orders (
    order_id         uuid PRIMARY KEY,
    kind             text        NOT NULL CHECK (kind IN ('order', 'refund')),
    tenant_id        uuid        NOT NULL,
    register_id      uuid        NOT NULL,
    cash_session_id  uuid        NOT NULL,
    business_date    date        NOT NULL,
    odoo_order_id    integer     NOT NULL,
    odoo_session_id  integer,
    line_ids         jsonb       NOT NULL,
    synced_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX synced_orders_by_cash_session ON synced_orders (cash_session_id, kind);

-- Every message the connector gave up on, for the operators' API of a later issue.
CREATE TABLE dead_letters (
    id              bigserial PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    event_type      text        NOT NULL,
    tenant_id       uuid,
    aggregate_id    uuid,
    cash_session_id uuid,
    error_class     text        NOT NULL,
    message         text        NOT NULL,
    attempts        integer     NOT NULL,
    routing_key     text        NOT NULL,
    envelope        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_by_cash_session ON dead_letters (cash_session_id);

