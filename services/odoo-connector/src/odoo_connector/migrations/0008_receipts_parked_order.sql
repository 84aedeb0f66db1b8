-- An order that reached the connector before its predecessor keeps its event here until it is
-- settled: whichever replica settles the predecessor sends it right after, in the same batch run,
-- instead of waiting for its message to come back from a wait round.
ALTER TABLE register_receipts ADD COLUMN parked_event jsonb;
-- Looked up after every batch a register sends; the table keeps every receipt for 400 days.
CREATE INDEX register_receipts_parked ON register_receipts (register_id, receipt_sequence)
    WHERE parked_event IS NOT NULL;
