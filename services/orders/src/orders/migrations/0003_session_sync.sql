-- A Pro till session's close in Odoo, stamped from the connector's session.odoo_synced and
-- session.odoo_sync_failed: 'pending' while Odoo has not closed it (sync_error says why when it
-- refused), 'failed' once the connector gave up, 'local' for Starter and for history that came
-- from Odoo closed.
ALTER TABLE cash_sessions
    ADD COLUMN sync_state text NOT NULL DEFAULT 'local'
                          CHECK (sync_state IN ('local', 'pending', 'synced', 'failed')),
    ADD COLUMN sync_error text;
