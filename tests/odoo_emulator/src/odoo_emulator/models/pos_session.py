"""pos.session: creation, opening, the one-open-session rule and closing (odoo-api.md section 4)."""

from __future__ import annotations

from typing import Any, cast

from odoo_emulator.errors import user_error, validation_error
from odoo_emulator.models.base import sequences
from odoo_emulator.orm import (
    Env,
    Field,
    Model,
    boolean,
    char,
    datetime_field,
    integer,
    many2many,
    many2one,
    monetary,
    now_string,
    one2many,
    public,
    selection,
    text,
)
from odoo_emulator.store import Row

SESSION_STATES = (
    ("opening_control", "Opening Control"),
    ("opened", "In Progress"),
    ("closing_control", "Closing Control"),
    ("closed", "Closed & Posted"),
)


def _config_row(model: Model, row: Row) -> Row:
    return model.env["pos.config"].row(row["config_id"])


def _cash_journal(model: Model, row: Row) -> int | None:
    methods = model.env.db.table("pos.payment.method")
    for method_id in _config_row(model, row).get("payment_method_ids") or []:
        method = methods.rows.get(method_id) or {}
        if method.get("is_cash_count"):
            journal: int | None = method.get("journal_id")
            return journal
    return None


def _cash_in_orders(model: Model, row: Row) -> float:
    """The cash taken by the session's orders: what the drawer holds above the opening float."""
    payments = model.env.db.table("pos.payment")
    methods = model.env.db.table("pos.payment.method")
    total = 0.0
    for payment_id in payments.ids_where("session_id", row["id"]):
        payment = payments.rows[payment_id]
        method = methods.get(payment.get("payment_method_id")) or {}
        if method.get("is_cash_count"):
            total += payment.get("amount") or 0.0
    return round(total, 2)


def pos_sessions(env: Env) -> PosSession:
    return cast(PosSession, env["pos.session"])


class PosSession(Model):
    _name = "pos.session"
    _description = "Point of Sale Session"
    _order = "id desc"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            many2one("config_id", "pos.config", "Point of Sale", required=True, index=True),
            char("name", "Session ID", required=True, readonly=True, default="/"),
            many2one(
                "user_id", "res.users", "Opened By", required=True, default=lambda m: m.env.uid
            ),
            many2one("company_id", "res.company", "Company"),
            many2one(
                "currency_id",
                "res.currency",
                "Currency",
                compute=lambda m, r: m.env["pos.config"].value(r["config_id"], "currency_id"),
            ),
            datetime_field("start_at", "Opening Date", readonly=True),
            datetime_field("stop_at", "Closing Date", readonly=True),
            selection(
                "state",
                "Status",
                SESSION_STATES,
                required=True,
                readonly=True,
                default="opening_control",
            ),
            integer("sequence_number", "Order Sequence Number", default=1),
            integer("login_number", "Login Sequence Number", default=0),
            text("opening_notes", "Opening Notes"),
            text("closing_notes", "Closing Notes"),
            boolean(
                "cash_control",
                "Has Cash Control",
                compute=lambda m, r: m.env["pos.config"].value(r["config_id"], "cash_control"),
            ),
            many2one("cash_journal_id", "account.journal", "Cash Journal", compute=_cash_journal),
            monetary("cash_register_balance_end_real", "Ending Balance"),
            monetary("cash_register_balance_start", "Starting Balance"),
            monetary(
                "cash_register_total_entry_encoding",
                "Total Cash Transaction",
                compute=_cash_in_orders,
            ),
            monetary(
                "cash_register_balance_end",
                "Theoretical Closing Balance",
                compute=lambda m, r: round(
                    (r.get("cash_register_balance_start") or 0.0) + _cash_in_orders(m, r), 2
                ),
            ),
            monetary(
                "cash_register_difference",
                "Before Closing Difference",
                compute=lambda m, r: round(
                    (r.get("cash_register_balance_end_real") or 0.0)
                    - (r.get("cash_register_balance_start") or 0.0)
                    - _cash_in_orders(m, r),
                    2,
                ),
            ),
            one2many("order_ids", "pos.order", "session_id", "Orders"),
            integer(
                "order_count",
                "Order Count",
                compute=lambda m, r: len(
                    m.env.db.table("pos.order").ids_where("session_id", r["id"])
                ),
            ),
            boolean("rescue", "Recovery Session", default=False, readonly=True),
            many2one("move_id", "account.move", "Journal Entry", readonly=True),
            many2many(
                "payment_method_ids",
                "pos.payment.method",
                "Payment Methods",
                compute=lambda m, r: _config_row(m, r).get("payment_method_ids") or [],
            ),
            one2many("statement_line_ids", "pos.payment", "session_id", "Payments"),
            monetary(
                "total_payments_amount",
                "Total Payments Amount",
                compute=lambda m, r: round(
                    sum(
                        m.env.db.table("pos.payment").rows[p].get("amount") or 0.0
                        for p in m.env.db.table("pos.payment").ids_where("session_id", r["id"])
                    ),
                    2,
                ),
            ),
            boolean("update_stock_at_closing", "Stock should be updated at closing", default=False),
        ]

    # ------------------------------------------------------------------ create and open

    def _prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        config_id = vals.get("config_id") or self.env.context.get("default_config_id")
        if not config_id:
            raise user_error("You should assign a Point of Sale to your session.")
        config = self.env["pos.config"].row(config_id)
        name = sequences(self.env).next_by_code("pos.session")
        if vals.get("name") and vals["name"] != "/":
            name += " " + vals["name"]
        vals["config_id"] = config_id
        vals["name"] = name
        vals["company_id"] = config.get("company_id")
        return vals

    def _after_create(self, ids: list[int]) -> None:
        for session_id in ids:
            self._check_pos_config(session_id)
        self.open_sessions(ids)

    def _check_pos_config(self, session_id: int) -> None:
        if self.env.version >= 17 and self.env.context.get("onboarding_creation"):
            return
        config_id = self.row(session_id)["config_id"]
        live = [
            i
            for i in self.table.ids_where("config_id", config_id)
            if self.table.rows[i].get("state") != "closed" and not self.table.rows[i].get("rescue")
        ]
        if len(live) > 1:
            raise validation_error("Another session is already opened for this point of sale.")

    def open_sessions(self, ids: list[int]) -> None:
        """action_pos_session_open: cash control keeps a session in opening_control."""
        for session_id in ids:
            row = self.row(session_id)
            if row.get("state") != "opening_control":
                continue
            values: dict[str, Any] = {}
            if not row.get("start_at"):
                values["start_at"] = now_string()
            if self.value(session_id, "cash_control") and not row.get("rescue"):
                previous = [
                    i
                    for i in self.table.ids_where("config_id", row["config_id"])
                    if i != session_id
                ]
                last = self.table.rows[max(previous)] if previous else {}
                values["cash_register_balance_start"] = (
                    last.get("cash_register_balance_end_real") or 0.0
                )
            else:
                values["state"] = "opened"
            self.write_records([session_id], values)

    @public("records")
    def action_pos_session_open(self, ids: list[int]) -> bool:
        self.open_sessions(self._ids(ids))
        return True

    def _set_opening_float(self, ids: list[int], cashbox_value: float, notes: str) -> None:
        for session_id in self._ids(ids):
            self.write_records(
                [session_id],
                {
                    "state": "opened",
                    "opening_notes": notes,
                    "cash_register_balance_start": cashbox_value,
                },
            )

    @public("records", versions=(16, 17))
    def set_cashbox_pos(self, ids: list[int], cashbox_value: float, notes: str) -> None:
        """Returns None, so the JSON-RPC answer has no `result` key (odoo-api.md 1.1)."""
        self._set_opening_float(ids, cashbox_value, notes)

    @public("records", versions=(18,))
    def set_opening_control(self, ids: list[int], cashbox_value: float, notes: str) -> None:
        self._set_opening_float(ids, cashbox_value, notes)

    # ------------------------------------------------------------------ close

    def _has_draft_orders(self, session_id: int) -> bool:
        orders = self.env.db.table("pos.order")
        return any(
            orders.rows[i].get("state") == "draft"
            for i in orders.ids_where("session_id", session_id)
        )

    @public("records")
    def action_pos_session_closing_control(
        self,
        ids: list[int],
        balancing_account: Any = False,
        amount_to_balance: float = 0,
        bank_payment_method_diffs: Any = None,
    ) -> bool:
        result = True
        for session_id in self._ids(ids):
            if self._has_draft_orders(session_id):
                raise user_error("You cannot close the POS when orders are still in draft")
            row = self.row(session_id)
            if row.get("state") == "closed":
                raise user_error("This session is already closed.")
            self.write_records(
                [session_id],
                {"state": "closing_control", "stop_at": row.get("stop_at") or now_string()},
            )
            result = self._validate_session(session_id)
        return result

    @public("records")
    def action_pos_session_validate(
        self,
        ids: list[int],
        balancing_account: Any = False,
        amount_to_balance: float = 0,
        bank_payment_method_diffs: Any = None,
    ) -> bool:
        return all(self._validate_session(i) for i in self._ids(ids))

    @public("records")
    def action_pos_session_close(
        self,
        ids: list[int],
        balancing_account: Any = False,
        amount_to_balance: float = 0,
        bank_payment_method_diffs: Any = None,
    ) -> bool:
        return all(self._validate_session(i) for i in self._ids(ids))

    def _validate_session(self, session_id: int) -> bool:
        orders = self.env["pos.order"]
        order_ids = sorted(orders.table.ids_where("session_id", session_id))
        drafts = [i for i in order_ids if orders.table.rows[i].get("state") == "draft"]
        if drafts:
            names = "\n".join(orders.table.rows[i].get("name") or "/" for i in drafts)
            raise user_error(
                "There are still orders in draft state in the session. Pay or cancel the "
                f"following orders to validate the session:\n{names}"
            )
        paid = [i for i in order_ids if orders.table.rows[i].get("state") == "paid"]
        if paid:
            orders.write_records(paid, {"state": "done"})
        self.write_records(
            [session_id],
            {"state": "closed", "stop_at": self.row(session_id).get("stop_at") or now_string()},
        )
        return True

    def _cannot_close(self, session_id: int) -> dict[str, Any] | None:
        if self._has_draft_orders(session_id):
            return {
                "successful": False,
                "message": "You cannot close the POS when orders are still in draft",
                "redirect": False,
            }
        if self.row(session_id).get("state") == "closed":
            return {
                "successful": False,
                "type": "alert",
                "title": "Session already closed",
                "message": (
                    "The session has been already closed by another User. All sales completed in "
                    "the meantime have been saved in a Rescue Session, which can be reviewed "
                    "anytime and posted to Accounting from Point of Sale's dashboard."
                ),
                "redirect": True,
            }
        return None

    @public("records")
    def post_closing_cash_details(self, ids: list[int], counted_cash: float) -> dict[str, Any]:
        session_id = self.ensure_one(ids)
        refusal = self._cannot_close(session_id)
        if refusal:
            return refusal
        if not self.value(session_id, "cash_journal_id"):
            raise user_error("There is no cash register in this session.")
        self.write_records([session_id], {"cash_register_balance_end_real": counted_cash})
        return {"successful": True}

    @public("records")
    def update_closing_control_state_session(self, ids: list[int], notes: str) -> None:
        for session_id in self._ids(ids):
            if self.row(session_id).get("state") == "closed":
                raise user_error("This session is already closed.")
            self.write_records(
                [session_id],
                {"state": "closing_control", "stop_at": now_string(), "closing_notes": notes},
            )

    @public("records")
    def close_session_from_ui(
        self, ids: list[int], bank_payment_method_diff_pairs: Any = None
    ) -> dict[str, Any]:
        session_id = self.ensure_one(ids)
        refusal = self._cannot_close(session_id)
        if refusal:
            refusal["redirect"] = True
            return refusal
        self.action_pos_session_closing_control([session_id])
        return {"successful": True}
