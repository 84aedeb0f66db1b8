"""The backfill: a Pro tenant's closed Odoo history, mapped to the orders service's import
contract (`POST /v1/imports/orders`) and sent in batches of whole sessions.

What the import cannot represent (negative-price or mixed-sign orders, figures that do not add
up) is skipped and counted with a reason, never sent, so no batch is refused for it. Orders the
connector itself pushed to Odoo, and the Odoo sessions it opened for them, stay out: they are
ours already. Registers for pos.configs that have none here are made through the registers
service and linked (`synced`, nothing created in Odoo). Odoo is only read.

One module per step: `mapping` and `plan` (pure), `services_api` (HTTP), `run`.
"""

from __future__ import annotations

from odoo_connector.backfill.mapping import (
    OurMethod,
    Unrepresentable,
    decimal_text,
    grouped_payments,
    is_refund,
    map_order,
    map_refunds,
    map_session,
    money,
    order_line,
    payment_kind,
    product_ref,
    tax_figures,
    to_minor,
)
from odoo_connector.backfill.plan import (
    BATCH_ORDERS,
    BATCH_REFUNDS,
    BATCH_SESSIONS,
    IMPORT_MAX_ORDERS,
    IMPORT_MAX_REFUNDS,
    PREFIX_CANDIDATES,
    Plan,
    SessionPlan,
    Skipped,
    Target,
    batch_body,
    batches,
    orders_pushed_from_here,
    our_methods,
    plan_history,
    receipt_prefixes,
)
from odoo_connector.backfill.run import (
    BackfillOptions,
    BackfillReport,
    Counts,
    Progress,
    backfill,
    ensure_registers,
    run_backfill,
)
from odoo_connector.backfill.services_api import (
    REGISTER_WAIT_DELAYS_S,
    BackfillError,
    Imported,
    ImportSummary,
    PaymentMethodSeen,
    RegisterSeen,
    ServicesApi,
    ShopSeen,
)

__all__ = [
    "BATCH_ORDERS",
    "BATCH_REFUNDS",
    "BATCH_SESSIONS",
    "IMPORT_MAX_ORDERS",
    "IMPORT_MAX_REFUNDS",
    "PREFIX_CANDIDATES",
    "REGISTER_WAIT_DELAYS_S",
    "BackfillError",
    "BackfillOptions",
    "BackfillReport",
    "Counts",
    "ImportSummary",
    "Imported",
    "OurMethod",
    "PaymentMethodSeen",
    "Plan",
    "Progress",
    "RegisterSeen",
    "ServicesApi",
    "SessionPlan",
    "ShopSeen",
    "Skipped",
    "Target",
    "Unrepresentable",
    "backfill",
    "batch_body",
    "batches",
    "decimal_text",
    "ensure_registers",
    "grouped_payments",
    "is_refund",
    "map_order",
    "map_refunds",
    "map_session",
    "money",
    "order_line",
    "orders_pushed_from_here",
    "our_methods",
    "payment_kind",
    "plan_history",
    "product_ref",
    "receipt_prefixes",
    "run_backfill",
    "tax_figures",
    "to_minor",
]
