-- Odoo's books follow the till (odoo-api.md 4.5).

-- An explicit rate -> Odoo sale tax mapping per tenant, winning over the one found by rate and
-- price-include: [{"rate_percent": "10", "prices_include_tax": true, "odoo_tax_id": 7}, ...].
ALTER TABLE odoo_settings ADD COLUMN tax_mapping jsonb NOT NULL DEFAULT '[]';

-- Till sessions as session.opened announced them: an Odoo session opens with this float.
CREATE TABLE till_sessions (
    session_id   uuid PRIMARY KEY,
    tenant_id    uuid        NOT NULL,
    register_id  uuid        NOT NULL,
    opening_cash bigint      NOT NULL,
    currency     text        NOT NULL,
    opened_at    timestamptz NOT NULL
);

-- The Odoo pos.sessions a till session's orders went to: normally one; more when Odoo closed
-- one under us (its orders then went to another, or to a 16/17 rescue session). Odoo ids are
-- only ever compared within one register's Odoo.
CREATE TABLE odoo_pos_sessions (
    register_id     uuid        NOT NULL,
    odoo_session_id integer     NOT NULL,
    cash_session_id uuid        NOT NULL,
    pricelist_id    integer,
    -- closing: the connector started Odoo's closing flow and Odoo has not closed it yet.
    state           text        NOT NULL CHECK (state IN ('open', 'closing', 'closed')),
    opened_at       timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz,
    PRIMARY KEY (register_id, odoo_session_id)
);
CREATE INDEX odoo_pos_sessions_by_till_session ON odoo_pos_sessions (cash_session_id);
CREATE UNIQUE INDEX odoo_pos_sessions_one_live_per_register
    ON odoo_pos_sessions (register_id) WHERE state <> 'closed';

-- The sessions opened per business date before: each belongs to the till session its orders
-- came from.
INSERT INTO odoo_pos_sessions (register_id, odoo_session_id, cash_session_id, pricelist_id,
                               state, opened_at, closed_at)
SELECT DISTINCT ON (s.register_id, s.odoo_session_id)
       s.register_id, s.odoo_session_id, o.cash_session_id, s.pricelist_id,
       CASE WHEN s.state = 'open' THEN 'open' ELSE 'closed' END, s.opened_at, s.closed_at
FROM odoo_sessions s
JOIN synced_orders o ON o.register_id = s.register_id AND o.odoo_session_id = s.odoo_session_id
ORDER BY s.register_id, s.odoo_session_id, s.state DESC;

DROP TABLE odoo_sessions;
