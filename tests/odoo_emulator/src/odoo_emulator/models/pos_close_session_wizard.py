"""pos.close.session.wizard: the "Force Close Session" answer to a close that does not balance."""

from __future__ import annotations

from typing import Any

from odoo_emulator.models.pos_session import pos_sessions
from odoo_emulator.orm import Field, Model, boolean, floating, many2one, public, text


class PosCloseSessionWizard(Model):
    _name = "pos.close.session.wizard"
    _description = "Close Session Wizard"
    _rec_name = None

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            floating("amount_to_balance", "Amount to balance"),
            many2one("account_id", "account.account", "Destination account"),
            boolean("account_readonly", "Destination account is readonly"),
            text("message", "Information message"),
        ]

    @public("records")
    def close_session(self, ids: list[int]) -> bool | dict[str, Any]:
        """Close the sessions of the context's active_ids, booking the difference on account_id."""
        row = self.row(self.ensure_one(ids))
        sessions = pos_sessions(self.env)
        session_ids = self.env.context["active_ids"]
        return sessions.action_pos_session_close(
            session_ids, row.get("account_id") or False, row.get("amount_to_balance") or 0.0
        )
