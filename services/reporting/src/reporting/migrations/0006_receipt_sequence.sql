-- A session's first and last receipt go by the register's receipt sequence, as in the orders
-- service: tablets' clocks can give two receipts the same moment, or a later one an earlier
-- moment. NULL for orders imported from Odoo, which have none; those go by created_at.
ALTER TABLE order_facts ADD COLUMN receipt_sequence bigint;

UPDATE order_facts f
SET receipt_sequence = (e.envelope -> 'data' ->> 'receipt_sequence')::bigint
FROM event_log e
WHERE e.event_type = 'order.placed'
  AND e.tenant_id = f.tenant_id
  AND e.aggregate_id = f.order_id
  AND e.envelope -> 'data' ->> 'receipt_sequence' IS NOT NULL;
