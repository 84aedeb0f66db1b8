-- The connector's dead letters are kept in the shared dead_letter_records now, like every other
-- service's, with the operators' statuses. Rows written before keep their story there; their
-- queue is named without a broker namespace, since this schema never knew it.
INSERT INTO dead_letter_records (
    id, queue, routing_key, message_id, message_key, event_type, tenant_id, aggregate_type,
    aggregate_id, error_class, reason, cause, attempts, first_failure_at, last_failure_at,
    dead_lettered_at, body, envelope)
SELECT gen_random_uuid(),
       CASE WHEN event_type LIKE 'register.%' THEN 'connector.registers' ELSE 'connector.odoo' END,
       routing_key,
       event_id::text,
       event_id::text,
       event_type,
       tenant_id,
       CASE WHEN event_type = 'order.refunded' THEN 'refund' ELSE split_part(event_type, '.', 1) END,
       CASE WHEN event_type = 'order.refunded' THEN (envelope #>> '{data,refund_id}')::uuid
            ELSE aggregate_id END,
       error_class,
       message,
       left(regexp_replace(message,
                           '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}',
                           '<id>', 'g'), 300),
       attempts,
       created_at,
       created_at,
       created_at,
       convert_to(coalesce(envelope::text, ''), 'UTF8'),
       envelope
FROM dead_letters
ON CONFLICT DO NOTHING;

DROP TABLE dead_letters;

-- A till session's close counts its orders that were given up on: found by the session id in
-- the event, without reading every dead letter.
CREATE INDEX dead_letter_records_by_cash_session
    ON dead_letter_records ((envelope #>> '{data,session_id}'), event_type);
