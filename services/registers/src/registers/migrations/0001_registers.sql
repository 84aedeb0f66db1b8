-- Tenants, shops, registers with their Odoo sync state, payment methods and issued tokens.

CREATE TABLE tenants (
    tenant_id         uuid        PRIMARY KEY,
    seq               bigserial   NOT NULL UNIQUE,
    name              text        NOT NULL,
    tier              text        NOT NULL CHECK (tier IN ('starter', 'pro')),
    default_currency  text        NOT NULL,
    default_timezone  text        NOT NULL,
    version           integer     NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shops (
    shop_id              uuid        PRIMARY KEY,
    tenant_id            uuid        NOT NULL REFERENCES tenants,
    seq                  bigserial   NOT NULL UNIQUE,
    name                 text        NOT NULL,
    currency             text        NOT NULL,
    timezone             text        NOT NULL,
    business_day_cutoff  time        NOT NULL,
    prices_include_tax   boolean     NOT NULL,
    version              integer     NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shops_by_tenant ON shops (tenant_id, seq);

CREATE TABLE registers (
    register_id         uuid        PRIMARY KEY,
    tenant_id           uuid        NOT NULL REFERENCES tenants,
    shop_id             uuid        NOT NULL REFERENCES shops,
    seq                 bigserial   NOT NULL UNIQUE,
    name                text        NOT NULL,
    receipt_prefix      text        NOT NULL,
    active              boolean     NOT NULL DEFAULT true,
    odoo_pos_config_id  integer,
    sync_state          text        NOT NULL CHECK (sync_state IN
                            ('local', 'pending_create', 'pending_update', 'synced', 'sync_error')),
    -- The version whose change opened the current sync budget: results about older versions
    -- are stale and must not mark a freshly queued push as failed.
    sync_budget_version integer     NOT NULL DEFAULT 1,
    sync_attempts       integer     NOT NULL DEFAULT 0,
    last_sync_error     text,
    last_sync_error_at  timestamptz,
    last_synced_at      timestamptz,
    version             integer     NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, receipt_prefix)
);
CREATE INDEX registers_by_tenant ON registers (tenant_id, seq);
CREATE INDEX registers_by_shop ON registers (shop_id, seq);

CREATE TABLE payment_methods (
    payment_method_id       uuid        PRIMARY KEY,
    tenant_id               uuid        NOT NULL REFERENCES tenants,
    seq                     bigserial   NOT NULL UNIQUE,
    code                    text        NOT NULL,
    name                    text        NOT NULL,
    kind                    text        NOT NULL CHECK (kind IN ('cash', 'card', 'qr', 'other')),
    active                  boolean     NOT NULL DEFAULT true,
    odoo_payment_method_id  integer,
    version                 integer     NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, code)
);

-- What was issued, never the token itself: enough to list, audit and revoke.
CREATE TABLE tokens (
    token_id     uuid        PRIMARY KEY,
    tenant_id    uuid        NOT NULL,
    seq          bigserial   NOT NULL UNIQUE,
    role         text        NOT NULL,
    register_id  uuid        REFERENCES registers,
    subject      text        NOT NULL,
    issued_by    text        NOT NULL,
    issued_at    timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    revoked_by   text
);
CREATE INDEX tokens_by_tenant ON tokens (tenant_id, seq);
