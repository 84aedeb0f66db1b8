-- Per shop, business date and register: what a dashboard or a 30-day report needs, in one row,
-- so a month is 30 rows a register instead of thousands of quarter-hour slots. Odoo sync counts
-- live here too, so the dashboard never joins a day's orders with their sync states.
CREATE TABLE daily_totals (
    tenant_id     uuid    NOT NULL,
    shop_id       uuid    NOT NULL,
    business_date date    NOT NULL,
    register_id   uuid    NOT NULL,
    order_count   integer NOT NULL DEFAULT 0,
    gross         bigint  NOT NULL DEFAULT 0,
    refund_count  integer NOT NULL DEFAULT 0,
    refunds       bigint  NOT NULL DEFAULT 0,
    sales_tax     bigint  NOT NULL DEFAULT 0,
    refunds_tax   bigint  NOT NULL DEFAULT 0,
    discounts     bigint  NOT NULL DEFAULT 0,
    synced_count  integer NOT NULL DEFAULT 0,
    failed_count  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, shop_id, business_date, register_id)
);

INSERT INTO daily_totals (tenant_id, shop_id, business_date, register_id, order_count, gross,
                          refund_count, refunds, sales_tax, refunds_tax, discounts)
SELECT tenant_id, shop_id, business_date, register_id, sum(order_count), sum(gross),
       sum(refund_count), sum(refunds), sum(sales_tax), sum(refunds_tax), sum(discounts)
FROM sales_slots
GROUP BY tenant_id, shop_id, business_date, register_id;

UPDATE daily_totals d
SET synced_count = s.synced, failed_count = s.failed
FROM (SELECT o.tenant_id, o.shop_id, o.business_date, o.register_id,
             count(*) FILTER (WHERE y.state = 'synced') AS synced,
             count(*) FILTER (WHERE y.state = 'failed') AS failed
      FROM order_facts o
      JOIN order_sync y ON y.tenant_id = o.tenant_id AND y.order_id = o.order_id
      GROUP BY 1, 2, 3, 4) s
WHERE d.tenant_id = s.tenant_id AND d.shop_id = s.shop_id
  AND d.business_date = s.business_date AND d.register_id = s.register_id;

CREATE INDEX sessions_open_by_shop ON sessions (tenant_id, shop_id) WHERE state = 'open';
