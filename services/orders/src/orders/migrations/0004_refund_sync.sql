-- A refund's trip to Odoo, stamped from the connector's refund.odoo_synced and
-- refund.odoo_sync_failed, like an order's: 'pending' for a Pro register until Odoo has it,
-- 'failed' with the reason once the connector gave up, 'local' for Starter, 'synced' for
-- history that came from Odoo.
ALTER TABLE refunds
    ADD COLUMN sync_state      text NOT NULL DEFAULT 'local'
                               CHECK (sync_state IN ('local', 'pending', 'synced', 'failed')),
    ADD COLUMN sync_error      text,
    ADD COLUMN odoo_session_id bigint;

UPDATE refunds SET sync_state = 'synced' WHERE source = 'odoo_pulled';
