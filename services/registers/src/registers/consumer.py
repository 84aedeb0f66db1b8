"""What the registers service consumes: the connector's results for registers' Odoo sync."""

from __future__ import annotations

from collections.abc import Mapping

from registers.handlers import RegisterHandlers
from shared.consumer import Handler

SYNC_RESULT_EVENTS = ("register.odoo_synced", "register.odoo_sync_failed")


def sync_result_handlers(handlers: RegisterHandlers) -> Mapping[str, Handler]:
    return {
        "register.odoo_synced": handlers.record_sync_result,
        "register.odoo_sync_failed": handlers.record_sync_result,
    }
