-- Odoo history brought home by the backfill (POST /v1/imports/orders): where a session or a
-- refund came from and its Odoo ids. Orders already had `source` and the Odoo ids.
ALTER TABLE cash_sessions
    ADD COLUMN source            text NOT NULL DEFAULT 'pos'
                                 CHECK (source IN ('pos', 'odoo_pulled')),
    ADD COLUMN odoo_session_id   bigint,
    ADD COLUMN odoo_session_name text;

ALTER TABLE refunds
    ADD COLUMN source        text NOT NULL DEFAULT 'pos' CHECK (source IN ('pos', 'odoo_pulled')),
    ADD COLUMN odoo_order_id bigint;

-- An import looks its Odoo order ids up among the orders it already has (its own, and ours that
-- the connector pushed and stamped), so Odoo's copy of one of our orders never comes back twice.
CREATE INDEX orders_by_odoo_order ON orders (tenant_id, odoo_order_id)
    WHERE odoo_order_id IS NOT NULL;
