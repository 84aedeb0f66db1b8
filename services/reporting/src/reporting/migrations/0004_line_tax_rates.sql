-- The tax summary (pos-domain 4.3) groups lines by rate and inclusive flag. A refund line carries
-- neither: reports take them from the order line it refunds, joined when read, so a refund
-- projected before its order finds them as soon as the order arrives. Nullable because a line
-- whose order.placed is not in the log cannot get them (0005); reports show it as rate unknown.
ALTER TABLE order_line_facts
    ADD COLUMN tax_rate_percent   numeric,
    ADD COLUMN prices_include_tax boolean;

-- The daily report reaches a day's lines through its orders and refunds.
CREATE INDEX order_line_facts_by_order ON order_line_facts (tenant_id, order_id);
CREATE INDEX refund_line_facts_by_refund ON refund_line_facts (tenant_id, refund_id);
