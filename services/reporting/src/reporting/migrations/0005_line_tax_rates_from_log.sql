-- Lines projected before 0004 get their rate and inclusive flag from the logged order.placed,
-- so reports of past sessions and days gain their tax rows without a rebuild.
UPDATE order_line_facts f
SET tax_rate_percent = (l.line ->> 'tax_rate_percent')::numeric,
    prices_include_tax = (l.line ->> 'prices_include_tax')::boolean
FROM event_log e
CROSS JOIN LATERAL jsonb_array_elements(e.envelope -> 'data' -> 'lines') AS l(line)
WHERE e.event_type = 'order.placed'
  AND e.tenant_id = f.tenant_id
  AND (l.line ->> 'line_id')::uuid = f.line_id
  AND f.tax_rate_percent IS NULL;
