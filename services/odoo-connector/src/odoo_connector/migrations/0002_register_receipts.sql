-- A register's orders by receipt sequence, so that whichever replica holds order n can tell,
-- under the register's lock, whether order n-1 has gone to Odoo (or never will) before sending n.
CREATE TABLE register_receipts (
    register_id      uuid   NOT NULL,
    receipt_sequence bigint NOT NULL,
    -- Sent to Odoo at least once, given up on, or not for Odoo (Starter, imported from Odoo).
    settled_at       timestamptz,
    -- First found waiting for its predecessor: the bound on that wait counts from here.
    waiting_since    timestamptz,
    PRIMARY KEY (register_id, receipt_sequence)
);
