"""What the connector prunes besides every service's tables: its receipts of what is in Odoo.

`synced_orders` says an order is in Odoo (and gives a refund its original's Odoo lines);
`push_attempts` makes a second sending search Odoo before creating. Both are what keeps an order
once in Odoo, so they stay while anything may still send the order again: for the retention
(`CONNECTOR_RECEIPTS_RETENTION`, far beyond every retry, wait and inbox horizon), while its till
session is not closed in Odoo, and while an open dead letter names it (it may be replayed).
"""

from __future__ import annotations

from odoo_connector.settings import ConnectorSettings
from shared.housekeeping import PruneRule

# A push attempt's reference is the order's (or refund's) id as text.
_REFERENCE_ID = "CASE WHEN reference ~ '^[0-9a-fA-F-]{36}$' THEN reference::uuid END"


def receipt_rules(settings: ConnectorSettings) -> list[PruneRule]:
    return [
        PruneRule(
            "synced_orders",
            """synced_at < $1
               AND NOT EXISTS (SELECT 1 FROM odoo_pos_sessions s
                               WHERE s.cash_session_id = synced_orders.cash_session_id
                                 AND s.state <> 'closed')
               AND NOT EXISTS (SELECT 1 FROM dead_letter_records d
                               WHERE d.aggregate_id = synced_orders.order_id
                                 AND d.status = 'dead')""",
            settings.receipts_retention,
        ),
        PruneRule(
            "push_attempts",
            f"""attempted_at < $1
                AND NOT EXISTS (SELECT 1 FROM synced_orders s
                                WHERE s.order_id = {_REFERENCE_ID})
                AND NOT EXISTS (SELECT 1 FROM dead_letter_records d
                                WHERE d.aggregate_id = {_REFERENCE_ID} AND d.status = 'dead')""",
            settings.receipts_retention,
        ),
    ]
