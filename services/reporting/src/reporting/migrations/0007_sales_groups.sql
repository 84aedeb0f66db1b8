-- The sales report grouped by payment method or product gives every figure such a group can
-- have, and names a payment method as the registers service does.

-- Orders (refunds) with at least one payment by the method: an order paid in two parts by one
-- method is one order, where sale_count counts two payments.
ALTER TABLE payment_totals
    ADD COLUMN orders_paid  integer NOT NULL DEFAULT 0,
    ADD COLUMN refunds_paid integer NOT NULL DEFAULT 0;

UPDATE payment_totals t
SET orders_paid = c.orders
FROM (SELECT o.tenant_id, o.shop_id, o.business_date, o.register_id, p.method, p.kind,
             count(DISTINCT o.order_id) AS orders
      FROM payment_facts p
      JOIN order_facts o ON o.tenant_id = p.tenant_id AND o.order_id = p.parent_id
      WHERE p.direction = 'sale'
      GROUP BY 1, 2, 3, 4, 5, 6) c
WHERE t.tenant_id = c.tenant_id AND t.shop_id = c.shop_id AND t.business_date = c.business_date
  AND t.register_id = c.register_id AND t.method = c.method AND t.kind = c.kind;

UPDATE payment_totals t
SET refunds_paid = c.refunds
FROM (SELECT r.tenant_id, r.shop_id, r.business_date, r.register_id, p.method, p.kind,
             count(DISTINCT r.refund_id) AS refunds
      FROM payment_facts p
      JOIN refund_facts r ON r.tenant_id = p.tenant_id AND r.refund_id = p.parent_id
      WHERE p.direction = 'refund'
      GROUP BY 1, 2, 3, 4, 5, 6) c
WHERE t.tenant_id = c.tenant_id AND t.shop_id = c.shop_id AND t.business_date = c.business_date
  AND t.register_id = c.register_id AND t.method = c.method AND t.kind = c.kind;

-- Per product: the orders and refunds it is in, and the tax of its lines.
ALTER TABLE product_totals
    ADD COLUMN order_count  integer NOT NULL DEFAULT 0,
    ADD COLUMN refund_count integer NOT NULL DEFAULT 0,
    ADD COLUMN sales_tax    bigint  NOT NULL DEFAULT 0,
    ADD COLUMN refunds_tax  bigint  NOT NULL DEFAULT 0;

UPDATE product_totals t
SET order_count = c.orders, sales_tax = c.tax
FROM (SELECT o.tenant_id, o.shop_id, o.business_date, l.product_ref,
             count(DISTINCT o.order_id) AS orders, sum(l.tax) AS tax
      FROM order_line_facts l
      JOIN order_facts o ON o.tenant_id = l.tenant_id AND o.order_id = l.order_id
      GROUP BY 1, 2, 3, 4) c
WHERE t.tenant_id = c.tenant_id AND t.shop_id = c.shop_id AND t.business_date = c.business_date
  AND t.product_ref = c.product_ref;

UPDATE product_totals t
SET refund_count = c.refunds, refunds_tax = c.tax
FROM (SELECT r.tenant_id, r.shop_id, r.business_date, l.product_ref,
             count(DISTINCT r.refund_id) AS refunds, sum(l.tax) AS tax
      FROM refund_line_facts l
      JOIN refund_facts r ON r.tenant_id = l.tenant_id AND r.refund_id = l.refund_id
      GROUP BY 1, 2, 3, 4) c
WHERE t.tenant_id = c.tenant_id AND t.shop_id = c.shop_id AND t.business_date = c.business_date
  AND t.product_ref = c.product_ref;

-- Payment methods as the registers service names them; a payment names its method by code.
CREATE TABLE payment_methods (
    tenant_id         uuid    NOT NULL,
    payment_method_id uuid    NOT NULL,
    code              text    NOT NULL,
    name              text    NOT NULL,
    kind              text    NOT NULL,
    version           bigint  NOT NULL,
    PRIMARY KEY (tenant_id, payment_method_id)
);
CREATE INDEX payment_methods_by_code ON payment_methods (tenant_id, code);
