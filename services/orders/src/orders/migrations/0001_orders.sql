-- The local copy of each register, fed by register.* events from the registers service.
CREATE TABLE registers (
    register_id         uuid PRIMARY KEY,
    tenant_id           uuid        NOT NULL,
    shop_id             uuid        NOT NULL,
    name                text        NOT NULL,
    receipt_prefix      text        NOT NULL,
    active              boolean     NOT NULL,
    currency            text        NOT NULL,
    timezone            text        NOT NULL,
    business_day_cutoff time        NOT NULL,
    prices_include_tax  boolean     NOT NULL,
    tenant_tier         text        NOT NULL,
    version             bigint      NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Gap-free receipt numbers: the row is locked by the order's transaction until it commits.
CREATE TABLE receipt_sequences (
    register_id uuid PRIMARY KEY REFERENCES registers,
    last_value  bigint NOT NULL
);

CREATE TABLE cash_sessions (
    seq               bigserial   UNIQUE,
    session_id        uuid        PRIMARY KEY,
    tenant_id         uuid        NOT NULL,
    register_id       uuid        NOT NULL REFERENCES registers,
    shop_id           uuid        NOT NULL,
    state             text        NOT NULL CHECK (state IN ('open', 'closed')),
    business_date     date        NOT NULL,
    currency          text        NOT NULL,
    opened_at         timestamptz NOT NULL DEFAULT now(),
    opened_by         text        NOT NULL,
    opened_implicitly boolean     NOT NULL,
    opening_cash      bigint      NOT NULL CHECK (opening_cash >= 0),
    closed_at         timestamptz,
    closed_by         text,
    counted_cash      bigint,
    expected_cash     bigint,
    closing_note      text,
    version           bigint      NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX cash_sessions_one_open_per_register
    ON cash_sessions (register_id) WHERE state = 'open';
CREATE INDEX cash_sessions_by_tenant ON cash_sessions (tenant_id, seq DESC);

CREATE TABLE orders (
    seq                 bigserial   UNIQUE,
    tenant_id           uuid        NOT NULL,
    order_id            uuid        NOT NULL,
    register_id         uuid        NOT NULL REFERENCES registers,
    shop_id             uuid        NOT NULL,
    session_id          uuid        NOT NULL REFERENCES cash_sessions,
    receipt_number      text        NOT NULL,
    business_date       date        NOT NULL,
    created_at          timestamptz NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    currency            text        NOT NULL,
    net_total           bigint      NOT NULL,
    tax_total           bigint      NOT NULL,
    total               bigint      NOT NULL,
    customer_ref        text,
    note                text,
    source              text        NOT NULL DEFAULT 'pos',
    state               text        NOT NULL DEFAULT 'paid'
                        CHECK (state IN ('paid', 'partially_refunded', 'refunded')),
    sync_state          text        NOT NULL
                        CHECK (sync_state IN ('local', 'pending', 'synced', 'failed')),
    sync_error          text,
    odoo_order_id       bigint,
    odoo_session_id     bigint,
    created_by          text        NOT NULL,
    request_fingerprint text        NOT NULL,
    version             bigint      NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, order_id),
    UNIQUE (register_id, receipt_number)
);
CREATE INDEX orders_by_tenant ON orders (tenant_id, seq DESC);
CREATE INDEX orders_by_session ON orders (session_id);

CREATE TABLE order_lines (
    line_id            uuid    PRIMARY KEY,
    tenant_id          uuid    NOT NULL,
    order_id           uuid    NOT NULL,
    position           integer NOT NULL,
    product_ref        text    NOT NULL,
    product_name       text    NOT NULL,
    odoo_product_id    bigint,
    quantity           numeric NOT NULL CHECK (quantity > 0),
    unit_price         bigint  NOT NULL,
    discount_percent   numeric NOT NULL,
    tax_rate_percent   numeric NOT NULL,
    prices_include_tax boolean NOT NULL,
    gross              bigint  NOT NULL,
    discount           bigint  NOT NULL,
    net                bigint  NOT NULL,
    tax                bigint  NOT NULL,
    total              bigint  NOT NULL,
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders
);
CREATE INDEX order_lines_by_order ON order_lines (tenant_id, order_id, position);

CREATE TABLE order_payments (
    payment_id             uuid    PRIMARY KEY,
    tenant_id              uuid    NOT NULL,
    order_id               uuid    NOT NULL,
    position               integer NOT NULL,
    method                 text    NOT NULL,
    kind                   text    NOT NULL,
    odoo_payment_method_id bigint,
    amount                 bigint  NOT NULL,
    tendered               bigint,
    change                 bigint,
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders
);
CREATE INDEX order_payments_by_order ON order_payments (tenant_id, order_id, position);

CREATE TABLE refunds (
    seq                 bigserial   UNIQUE,
    tenant_id           uuid        NOT NULL,
    refund_id           uuid        NOT NULL,
    order_id            uuid        NOT NULL,
    register_id         uuid        NOT NULL REFERENCES registers,
    session_id          uuid        NOT NULL REFERENCES cash_sessions,
    business_date       date        NOT NULL,
    created_at          timestamptz NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    currency            text        NOT NULL,
    reason              text        NOT NULL,
    state               text        NOT NULL DEFAULT 'refunded' CHECK (state = 'refunded'),
    net_total           bigint      NOT NULL,
    tax_total           bigint      NOT NULL,
    total               bigint      NOT NULL,
    created_by          text        NOT NULL,
    request_fingerprint text        NOT NULL,
    PRIMARY KEY (tenant_id, refund_id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders
);
CREATE INDEX refunds_by_order ON refunds (tenant_id, order_id, seq);
CREATE INDEX refunds_by_session ON refunds (session_id);

CREATE TABLE refund_lines (
    refund_line_id uuid    PRIMARY KEY,
    tenant_id      uuid    NOT NULL,
    refund_id      uuid    NOT NULL,
    order_line_id  uuid    NOT NULL REFERENCES order_lines,
    position       integer NOT NULL,
    quantity       numeric NOT NULL CHECK (quantity > 0),
    net            bigint  NOT NULL,
    tax            bigint  NOT NULL,
    total          bigint  NOT NULL,
    FOREIGN KEY (tenant_id, refund_id) REFERENCES refunds
);
CREATE INDEX refund_lines_by_order_line ON refund_lines (order_line_id);

CREATE TABLE refund_payments (
    payment_id             uuid    PRIMARY KEY,
    tenant_id              uuid    NOT NULL,
    refund_id              uuid    NOT NULL,
    position               integer NOT NULL,
    method                 text    NOT NULL,
    kind                   text    NOT NULL,
    odoo_payment_method_id bigint,
    amount                 bigint  NOT NULL,
    FOREIGN KEY (tenant_id, refund_id) REFERENCES refunds
);
