-- Every consumed event, kept so `reporting rebuild` can replay the read models from our own copy.
CREATE TABLE event_log (
    event_id          uuid        PRIMARY KEY,
    tenant_id         uuid        NOT NULL,
    event_type        text        NOT NULL,
    event_version     integer     NOT NULL,
    occurred_at       timestamptz NOT NULL,
    aggregate_id      uuid        NOT NULL,
    aggregate_version bigint      NOT NULL,
    envelope          jsonb       NOT NULL
);
CREATE INDEX event_log_replay ON event_log (tenant_id, occurred_at, aggregate_version, event_id);

-- Reference data. Every projection is an upsert guarded by the aggregate's version, so an older
-- state arriving late never overwrites a newer one.
CREATE TABLE tenants (
    tenant_id uuid   PRIMARY KEY,
    name      text   NOT NULL,
    tier      text   NOT NULL,
    currency  text   NOT NULL,
    timezone  text   NOT NULL,
    version   bigint NOT NULL
);

-- A shop is known from shop.* events (version > 0), else from its registers' events (version 0,
-- newest register event wins by info_at), else only from its orders (timezone still unknown).
CREATE TABLE shops (
    tenant_id           uuid        NOT NULL,
    shop_id             uuid        NOT NULL,
    name                text,
    currency            text,
    timezone            text,
    business_day_cutoff time,
    version             bigint      NOT NULL DEFAULT 0,
    info_at             timestamptz NOT NULL DEFAULT '-infinity',
    PRIMARY KEY (tenant_id, shop_id)
);

CREATE TABLE registers (
    tenant_id      uuid    NOT NULL,
    register_id    uuid    NOT NULL,
    shop_id        uuid    NOT NULL,
    name           text    NOT NULL,
    receipt_prefix text    NOT NULL,
    active         boolean NOT NULL,
    tier           text    NOT NULL,
    version        bigint  NOT NULL,
    PRIMARY KEY (tenant_id, register_id)
);
CREATE INDEX registers_by_shop ON registers (tenant_id, shop_id);

CREATE TABLE sessions (
    tenant_id            uuid        NOT NULL,
    session_id           uuid        NOT NULL,
    register_id          uuid        NOT NULL,
    shop_id              uuid        NOT NULL,
    business_date        date        NOT NULL,
    state                text        NOT NULL CHECK (state IN ('open', 'closed')),
    currency             text        NOT NULL,
    opened_at            timestamptz NOT NULL,
    opened_by            text        NOT NULL,
    opening_cash         bigint      NOT NULL,
    closed_at            timestamptz,
    closed_by            text,
    expected_cash        bigint,
    counted_cash         bigint,
    closing_note         text,
    version              bigint      NOT NULL,
    PRIMARY KEY (tenant_id, session_id)
);
CREATE INDEX sessions_by_shop ON sessions (tenant_id, shop_id, business_date);
CREATE INDEX sessions_open_by_register ON sessions (tenant_id, register_id) WHERE state = 'open';

-- Facts: one row per order, line, payment, refund and refund line, inserted once by id.
CREATE TABLE order_facts (
    tenant_id      uuid        NOT NULL,
    order_id       uuid        NOT NULL,
    shop_id        uuid        NOT NULL,
    register_id    uuid        NOT NULL,
    session_id     uuid        NOT NULL,
    business_date  date        NOT NULL,
    created_at     timestamptz NOT NULL,
    receipt_number text        NOT NULL,
    currency       text        NOT NULL,
    gross          bigint      NOT NULL,
    discount       bigint      NOT NULL,
    net_total      bigint      NOT NULL,
    tax_total      bigint      NOT NULL,
    total          bigint      NOT NULL,
    source         text        NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX order_facts_by_session ON order_facts (tenant_id, session_id);
CREATE INDEX order_facts_by_day ON order_facts (tenant_id, shop_id, business_date, register_id);
CREATE INDEX order_facts_latest_by_register ON order_facts (tenant_id, register_id, created_at);

CREATE TABLE order_line_facts (
    tenant_id    uuid    NOT NULL,
    line_id      uuid    NOT NULL,
    order_id     uuid    NOT NULL,
    session_id   uuid    NOT NULL,
    product_ref  text    NOT NULL,
    product_name text    NOT NULL,
    quantity     numeric NOT NULL,
    gross        bigint  NOT NULL,
    discount     bigint  NOT NULL,
    net          bigint  NOT NULL,
    tax          bigint  NOT NULL,
    total        bigint  NOT NULL,
    PRIMARY KEY (tenant_id, line_id)
);
CREATE INDEX order_line_facts_by_session ON order_line_facts (tenant_id, session_id);

CREATE TABLE refund_facts (
    tenant_id     uuid        NOT NULL,
    refund_id     uuid        NOT NULL,
    order_id      uuid        NOT NULL,
    shop_id       uuid        NOT NULL,
    register_id   uuid        NOT NULL,
    session_id    uuid        NOT NULL,
    business_date date        NOT NULL,
    created_at    timestamptz NOT NULL,
    currency      text        NOT NULL,
    reason        text        NOT NULL,
    net_total     bigint      NOT NULL,
    tax_total     bigint      NOT NULL,
    total         bigint      NOT NULL,
    PRIMARY KEY (tenant_id, refund_id)
);
CREATE INDEX refund_facts_by_session ON refund_facts (tenant_id, session_id);
CREATE INDEX refund_facts_by_day ON refund_facts (tenant_id, shop_id, business_date);

CREATE TABLE refund_line_facts (
    tenant_id      uuid    NOT NULL,
    refund_line_id uuid    NOT NULL,
    refund_id      uuid    NOT NULL,
    order_line_id  uuid    NOT NULL,
    session_id     uuid    NOT NULL,
    product_ref    text    NOT NULL,
    quantity       numeric NOT NULL,
    net            bigint  NOT NULL,
    tax            bigint  NOT NULL,
    total          bigint  NOT NULL,
    PRIMARY KEY (tenant_id, refund_line_id)
);
CREATE INDEX refund_line_facts_by_session ON refund_line_facts (tenant_id, session_id);

-- Sale payments (direction 'sale', of an order) and refund payments (direction 'refund').
CREATE TABLE payment_facts (
    tenant_id  uuid   NOT NULL,
    payment_id uuid   NOT NULL,
    direction  text   NOT NULL CHECK (direction IN ('sale', 'refund')),
    parent_id  uuid   NOT NULL,
    session_id uuid   NOT NULL,
    method     text   NOT NULL,
    kind       text   NOT NULL,
    amount     bigint NOT NULL,
    PRIMARY KEY (tenant_id, payment_id)
);
CREATE INDEX payment_facts_by_session ON payment_facts (tenant_id, session_id);

-- The connector's verdict per order; may arrive before the order itself.
CREATE TABLE order_sync (
    tenant_id     uuid   NOT NULL,
    order_id      uuid   NOT NULL,
    state         text   NOT NULL CHECK (state IN ('synced', 'failed')),
    odoo_order_id bigint,
    error         text,
    PRIMARY KEY (tenant_id, order_id)
);

-- Rollups, incremented once per fact inserted. Each is a sum, so arrival order cannot matter.
-- Slots are quarter hours in UTC: any shop's local hour is a whole number of them (every zone's
-- offset is a multiple of 15 minutes), so hours are cut at read time in the shop's current zone.
CREATE TABLE sales_slots (
    tenant_id     uuid        NOT NULL,
    shop_id       uuid        NOT NULL,
    business_date date        NOT NULL,
    register_id   uuid        NOT NULL,
    slot          timestamptz NOT NULL,
    order_count   integer     NOT NULL DEFAULT 0,
    gross         bigint      NOT NULL DEFAULT 0,
    refund_count  integer     NOT NULL DEFAULT 0,
    refunds       bigint      NOT NULL DEFAULT 0,
    sales_tax     bigint      NOT NULL DEFAULT 0,
    refunds_tax   bigint      NOT NULL DEFAULT 0,
    discounts     bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, shop_id, business_date, register_id, slot)
);

CREATE TABLE payment_totals (
    tenant_id     uuid    NOT NULL,
    shop_id       uuid    NOT NULL,
    business_date date    NOT NULL,
    register_id   uuid    NOT NULL,
    method        text    NOT NULL,
    kind          text    NOT NULL,
    sale_count    integer NOT NULL DEFAULT 0,
    sales         bigint  NOT NULL DEFAULT 0,
    refund_count  integer NOT NULL DEFAULT 0,
    refunds       bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, shop_id, business_date, register_id, method, kind)
);

-- product_name is the greatest name seen (refunds contribute ''), so replay order cannot change it.
CREATE TABLE product_totals (
    tenant_id       uuid    NOT NULL,
    shop_id         uuid    NOT NULL,
    business_date   date    NOT NULL,
    product_ref     text    NOT NULL,
    product_name    text    NOT NULL,
    quantity        numeric NOT NULL DEFAULT 0,
    gross           bigint  NOT NULL DEFAULT 0,
    discounts       bigint  NOT NULL DEFAULT 0,
    total           bigint  NOT NULL DEFAULT 0,
    refund_quantity numeric NOT NULL DEFAULT 0,
    refunds         bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, shop_id, business_date, product_ref)
);

-- Chat destination per tenant; the bot token only ever stored encrypted.
CREATE TABLE chat_configs (
    tenant_id           uuid        PRIMARY KEY,
    bot_token_encrypted text        NOT NULL,
    chat_id             text        NOT NULL,
    daily_report_time   time        NOT NULL,
    enabled             boolean     NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    updated_by          text        NOT NULL
);

-- One row per message we mean to send; claiming the row is what makes a send happen once.
CREATE TABLE notifications (
    id              bigserial   PRIMARY KEY,
    tenant_id       uuid        NOT NULL,
    shop_id         uuid        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('daily', 'shift_close')),
    business_date   date        NOT NULL,
    session_id      uuid,
    state           text        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE UNIQUE INDEX notifications_daily_once
    ON notifications (tenant_id, shop_id, business_date, kind) WHERE kind = 'daily';
CREATE UNIQUE INDEX notifications_shift_close_once
    ON notifications (tenant_id, session_id) WHERE kind = 'shift_close';
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE state = 'pending';
