-- An order seen waiting (for Odoo, for its register, for its own predecessor) is still coming:
-- the order after it keeps waiting for it, and gives up only on one not seen waiting for
-- predecessor_wait_max_s (never placed here, or lost).
ALTER TABLE register_receipts ADD COLUMN last_waited_at timestamptz;
