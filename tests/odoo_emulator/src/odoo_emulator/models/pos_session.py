"""pos.session: opening with a float, the cash register, closing and its books (odoo-api.md 4)."""

from __future__ import annotations

from typing import Any, cast

from odoo_emulator.errors import user_error, validation_error
from odoo_emulator.models.account import (
    AccountBankStatementLine,
    AccountMove,
    currency_rounding,
    today,
)
from odoo_emulator.models.base import sequences
from odoo_emulator.models.closing_entry import (
    ClosingEntry,
    EntryLine,
    plan_closing_entry,
    plan_payments,
    summarize,
)
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
from odoo_emulator.rounding import float_round, sql_sum, stored_amount
from odoo_emulator.store import Row

SESSION_STATES = (
    ("opening_control", "Opening Control"),
    ("opened", "In Progress"),
    ("closing_control", "Closing Control"),
    ("closed", "Closed & Posted"),
)
_DRAFT_ORDERS = "You cannot close the POS when orders are still in draft"
_ALREADY_CLOSED = "This session is already closed."
_WIZARD_MESSAGE = (
    "There is a difference between the amounts to post and the amounts of the orders, it is "
    "probably caused by taxes or accounting configurations changes."
)
# Monetary columns hold the currency's precision.
_MONETARY = (
    "cash_register_balance_start",
    "cash_register_balance_end_real",
    "cash_real_transaction",
)


def _config_row(model: Model, row: Row) -> Row:
    return model.env["pos.config"].row(row["config_id"])


def _cash_method(model: Model, row: Row) -> int | None:
    """`payment_method_ids.filtered('is_cash_count')[:1]`, in the methods' order."""
    methods = model.env["pos.payment.method"]
    ids = _config_row(model, row).get("payment_method_ids") or []
    found = methods.search_ids(
        [("id", "in", ids), ("is_cash_count", "=", True)], order="sequence, id"
    )
    return found[0] if found else None


def _cash_journal(model: Model, row: Row) -> int | None:
    method = _cash_method(model, row)
    if method is None:
        return None
    journal: int | None = model.env["pos.payment.method"].value(method, "journal_id")
    return journal


def _cash_payments(model: Model, row: Row) -> float:
    """The session's payments in its cash method; 18 counts those of captured orders only."""
    method = _cash_method(model, row)
    if method is None:
        return 0.0
    payments = model.env.db.table("pos.payment")
    orders = model.env.db.table("pos.order")
    amounts = []
    for payment_id in payments.ids_where("session_id", row["id"]):
        payment = payments.rows[payment_id]
        if payment.get("payment_method_id") != method:
            continue
        order = orders.get(payment.get("pos_order_id")) or {}
        if model.env.version == 18 and order.get("state") not in ("paid", "invoiced", "done"):
            continue
        amounts.append(payment.get("amount") or 0.0)
    return sql_sum(amounts)


def _statement_total(model: Model, row: Row) -> float:
    lines = model.env.db.table("account.bank.statement.line")
    return sql_sum(
        [lines.rows[i].get("amount") or 0.0 for i in lines.ids_where("pos_session_id", row["id"])]
    )


def _cash_moves(model: Model, row: Row) -> float:
    """Cash in the drawer since the opening: statement lines (frozen at close) plus cash paid."""
    if _cash_method(model, row) is None:
        return 0.0
    if row.get("state") == "closed":
        moved = row.get("cash_real_transaction") or 0.0
    else:
        moved = _statement_total(model, row)
    return moved + _cash_payments(model, row)


def _previous_session(model: Model, row: Row) -> Row:
    sessions = model.env.db.table("pos.session")
    earlier = [i for i in sessions.ids_where("config_id", row["config_id"]) if i < row["id"]]
    return sessions.rows[max(earlier)] if earlier else {}


def _cash_balance_end(model: Model, row: Row) -> float:
    """16/17 count from the previous session's counted cash (the opening difference is a
    statement line of this session); 18 counts from this session's opening float."""
    if _cash_method(model, row) is None:
        return 0.0
    if model.env.version == 18:
        start = row.get("cash_register_balance_start") or 0.0
    else:
        start = _previous_session(model, row).get("cash_register_balance_end_real") or 0.0
    return start + _cash_moves(model, row)


def _cash_difference(model: Model, row: Row) -> float:
    if _cash_method(model, row) is None:
        return 0.0
    counted: float = row.get("cash_register_balance_end_real") or 0.0
    return counted - _cash_balance_end(model, row)


def pos_sessions(env: Env) -> PosSession:
    return cast(PosSession, env["pos.session"])


class PosSession(Model):
    _name = "pos.session"
    _description = "Point of Sale Session"
    _order = "id desc"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        fields = [
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
            boolean(
                "cash_control",
                "Has Cash Control",
                compute=lambda m, r: m.env["pos.config"].value(r["config_id"], "cash_control"),
            ),
            many2one("cash_journal_id", "account.journal", "Cash Journal", compute=_cash_journal),
            monetary("cash_register_balance_end_real", "Ending Balance", readonly=True),
            monetary("cash_register_balance_start", "Starting Balance", readonly=True),
            monetary(
                "cash_register_balance_end",
                "Theoretical Closing Balance",
                compute=_cash_balance_end,
            ),
            monetary(
                "cash_register_difference",
                "Before Closing Difference",
                compute=_cash_difference,
            ),
            monetary("cash_real_transaction", "Transaction", readonly=True),
            one2many("order_ids", "pos.order", "session_id", "Orders"),
            integer(
                "order_count",
                "Order Count",
                compute=lambda m, r: len(
                    m.env.db.table("pos.order").ids_where("session_id", r["id"])
                ),
            ),
            one2many(
                "statement_line_ids",
                "account.bank.statement.line",
                "pos_session_id",
                "Cash Lines",
                readonly=True,
            ),
            boolean("rescue", "Recovery Session", default=False, readonly=True),
            many2one("move_id", "account.move", "Journal Entry", index=True),
            many2many(
                "payment_method_ids",
                "pos.payment.method",
                "Payment Methods",
                compute=lambda m, r: _config_row(m, r).get("payment_method_ids") or [],
            ),
            monetary(
                "total_payments_amount",
                "Total Payments Amount",
                compute=lambda m, r: sql_sum(
                    [
                        m.env.db.table("pos.payment").rows[p].get("amount") or 0.0
                        for p in m.env.db.table("pos.payment").ids_where("session_id", r["id"])
                    ]
                ),
            ),
            boolean("update_stock_at_closing", "Stock should be updated at closing", default=False),
        ]
        if version in (16, 17):
            fields.append(
                monetary(
                    "cash_register_total_entry_encoding",
                    "Total Cash Transaction",
                    compute=_cash_moves,
                )
            )
        if version >= 17:
            fields.append(text("closing_notes", "Closing Notes"))
        return fields

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
        return self._round_monetary(vals)

    def _before_write(self, ids: list[int], vals: dict[str, Any]) -> dict[str, Any]:
        return self._round_monetary(vals)

    def _round_monetary(self, vals: dict[str, Any]) -> dict[str, Any]:
        rounding = currency_rounding(self.env)
        for name in _MONETARY:
            if isinstance(vals.get(name), int | float) and not isinstance(vals[name], bool):
                vals[name] = stored_amount(float(vals[name]), rounding)
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

    # ------------------------------------------------------------------ opening float

    @public("records", versions=(16, 17))
    def set_cashbox_pos(self, ids: list[int], cashbox_value: float, notes: str) -> None:
        """16/17: opened with the float; a difference from the expected opening is a statement
        line. Returns None, so the JSON-RPC answer has no `result` key (odoo-api.md 1.1)."""
        for session_id in self._ids(ids):
            self.write_records([session_id], {"state": "opened", "opening_notes": notes})
            difference = cashbox_value - (
                self.row(session_id).get("cash_register_balance_start") or 0.0
            )
            self.write_records([session_id], {"cash_register_balance_start": cashbox_value})
            self._post_statement_difference(session_id, difference, is_opening=True)

    @public("records", versions=(18,))
    def set_opening_control(self, ids: list[int], cashbox_value: float, notes: str) -> None:
        """18: only a session in opening_control opens; the difference is only logged."""
        session_id = self.ensure_one(ids)
        row = self.row(session_id)
        if row.get("state") != "opening_control":
            return
        values: dict[str, Any] = {"state": "opened", "start_at": now_string()}
        if _cash_method(self, row) is not None:
            values.update({"opening_notes": notes, "cash_register_balance_start": cashbox_value})
        self.write_records([session_id], values)

    def _post_statement_difference(
        self, session_id: int, amount: float, is_opening: bool = False
    ) -> None:
        """A cash difference as a statement line on the cash journal, against its loss or
        profit account (only at closing: the opening one stays on the suspense account)."""
        if not amount:
            return
        row = self.row(session_id)
        journal_id = _cash_journal(self, row)
        journal = self.env["account.journal"].row(journal_id) if journal_id else {}
        # An empty journal's name reads as False in Odoo's message.
        journal_name = journal.get("name") or False
        kind, account = (
            ("Loss", journal.get("loss_account_id"))
            if amount < 0.0
            else ("Profit", journal.get("profit_account_id"))
        )
        if not account:
            raise user_error(
                f"Please go on the {journal_name} journal and define a {kind} Account. This "
                "account will be used to record cash difference."
            )
        vals: dict[str, Any] = {
            "journal_id": journal_id,
            "amount": amount,
            "date": self._last_statement_date(session_id) or today(),
            "pos_session_id": session_id,
            "payment_ref": f"Cash difference observed during the counting ({kind})"
            + (" - opening" if is_opening else " - closing"),
        }
        if not is_opening:
            vals["counterpart_account_id"] = account
        self.env["account.bank.statement.line"].create_records([vals])

    def _last_statement_date(self, session_id: int) -> str | None:
        lines = self.env["account.bank.statement.line"]
        ids = sorted(lines.table.ids_where("pos_session_id", session_id))
        if not ids:
            return None
        date: str | None = lines.value(lines.search_ids([("id", "in", ids)])[-1], "date")
        return date

    # ------------------------------------------------------------------ closing, backend

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
    ) -> bool | dict[str, Any] | None:
        # Odoo returns from inside its loop: only the first session of the call is closed.
        for session_id in self._ids(ids):
            if self._has_draft_orders(session_id):
                raise user_error(_DRAFT_ORDERS)
            row = self.row(session_id)
            if row.get("state") == "closed":
                raise user_error(_ALREADY_CLOSED)
            stop_at = now_string() if self.env.version == 16 else row.get("stop_at") or now_string()
            self.write_records([session_id], {"state": "closing_control", "stop_at": stop_at})
            if not self.value(session_id, "cash_control"):
                return self._validate_session(session_id, balancing_account, amount_to_balance)
            if row.get("rescue"):
                # A rescue session has nobody to count its cash: the counted cash is the expected.
                self.write_records(
                    [session_id],
                    {"cash_register_balance_end_real": self._rescue_counted_cash(session_id)},
                )
            return self._validate_session(session_id, balancing_account, amount_to_balance)
        return None

    def _rescue_counted_cash(self, session_id: int) -> float:
        row = self.row(session_id)
        method = _cash_method(self, row)
        orders = self.env.db.table("pos.order")
        payments = self.env.db.table("pos.payment")
        closed = ("paid", "invoiced") if self.env.version == 16 else ("paid", "invoiced", "done")
        amounts = [
            payments.rows[p].get("amount") or 0.0
            for o in orders.ids_where("session_id", session_id)
            if orders.rows[o].get("state") in closed
            for p in payments.ids_where("pos_order_id", o)
            if payments.rows[p].get("payment_method_id") == method
        ]
        return sql_sum(amounts) + (row.get("cash_register_balance_start") or 0.0)

    @public("records")
    def action_pos_session_validate(
        self,
        ids: list[int],
        balancing_account: Any = False,
        amount_to_balance: float = 0,
        bank_payment_method_diffs: Any = None,
    ) -> bool | dict[str, Any]:
        return self._validate_session(self.ensure_one(ids), balancing_account, amount_to_balance)

    @public("records")
    def action_pos_session_close(
        self,
        ids: list[int],
        balancing_account: Any = False,
        amount_to_balance: float = 0,
        bank_payment_method_diffs: Any = None,
    ) -> bool | dict[str, Any]:
        return self._validate_session(self.ensure_one(ids), balancing_account, amount_to_balance)

    def _validate_session(
        self, session_id: int, balancing_account: Any = False, amount_to_balance: float = 0
    ) -> bool | dict[str, Any]:
        """Book the session and close it, or hand back the Force Close wizard when unbalanced."""
        row = self.row(session_id)
        orders = self.env["pos.order"]
        order_ids = sorted(orders.table.ids_where("session_id", session_id))
        if self.env.version != 16:
            order_ids = [i for i in order_ids if orders.table.rows[i].get("state") != "cancel"]
        statement_ids = self.env.db.table("account.bank.statement.line").ids_where(
            "pos_session_id", session_id
        )
        if order_ids or statement_ids:
            self.write_records([session_id], {"cash_real_transaction": _statement_total(self, row)})
            if row.get("state") == "closed":
                raise user_error(_ALREADY_CLOSED)
            self._check_if_no_draft_orders(session_id)
            cash_difference_before_statements = self.value(session_id, "cash_register_difference")
            account = (
                balancing_account[0] if isinstance(balancing_account, list) else balancing_account
            )
            entry = plan_closing_entry(self, session_id, account or None, amount_to_balance or 0.0)
            move_id = self._create_account_move(session_id, entry)
            rounding = currency_rounding(self.env)
            if not entry.is_balanced(rounding):
                # Odoo rolls back the whole transaction (cr.rollback()) before the wizard.
                self.env.db.journal.rollback()
                return self._close_session_action(session_id, entry.balance(rounding))
            self._post_statement_difference(session_id, cash_difference_before_statements)
            moves = cast(AccountMove, self.env["account.move"])
            if self.env.db.table("account.move.line").ids_where("move_id", move_id):
                moves.post(move_id)
                paid = orders.search_ids([("session_id", "=", session_id), ("state", "=", "paid")])
                if paid:
                    orders.write_records(paid, {"state": "done"})
            else:
                self.write_records([session_id], {"move_id": False})
                moves.unlink_records([move_id])
        else:
            self._post_statement_difference(
                session_id, self.value(session_id, "cash_register_difference")
            )
        self.write_records([session_id], {"state": "closed"})
        return True

    def _check_if_no_draft_orders(self, session_id: int) -> None:
        orders = self.env["pos.order"]
        drafts = [
            i
            for i in sorted(orders.table.ids_where("session_id", session_id))
            if orders.table.rows[i].get("state") == "draft"
        ]
        if drafts:
            names = ", ".join(orders.table.rows[i].get("name") or "/" for i in drafts)
            raise user_error(
                "There are still orders in draft state in the session. Pay or cancel the "
                f"following orders to validate the session:\n{names}"
            )

    def _create_account_move(self, session_id: int, entry: ClosingEntry) -> int:
        """The session's entry in the POS journal, and a cash statement line per cash method."""
        row = self.row(session_id)
        config = _config_row(self, row)
        move_id = self.env["account.move"].create_records(
            [
                {
                    "journal_id": config.get("journal_id") or False,
                    "date": today(),
                    "ref": row.get("name"),
                }
            ]
        )[0]
        self.write_records([session_id], {"move_id": move_id})
        self.env["account.move.line"].create_records(
            [line.as_vals(move_id) for line in entry.lines]
        )
        self.env["account.bank.statement.line"].create_records(
            [
                {
                    "date": today(),
                    "amount": statement.amount,
                    "payment_ref": row.get("name"),
                    "pos_session_id": session_id,
                    "journal_id": statement.journal_id,
                    "counterpart_account_id": statement.counterpart_account_id,
                }
                for statement in entry.cash_statements
            ]
        )
        return move_id

    def _close_session_action(self, session_id: int, amount_to_balance: float) -> dict[str, Any]:
        company = self.env.db.table("res.company").get(self.row(session_id).get("company_id")) or {}
        wizard_id = self.env["pos.close.session.wizard"].create_records(
            [
                {
                    "amount_to_balance": amount_to_balance,
                    "account_id": company.get("account_default_pos_receivable_account_id") or False,
                    # account.group_account_readonly: the demo administrators have it.
                    "account_readonly": self.env.uid not in (1, 2),
                    "message": _WIZARD_MESSAGE,
                }
            ]
        )[0]
        return {
            "name": "Force Close Session",
            "type": "ir.actions.act_window",
            "view_mode": "form",
            "res_model": "pos.close.session.wizard",
            "res_id": wizard_id,
            "target": "new",
            "context": {
                **self.env.context,
                "active_ids": [session_id],
                "active_model": "pos.session",
            },
        }

    # ------------------------------------------------------------------ closing, POS UI

    def _cannot_close_session(
        self, session_id: int, bank_payment_method_diffs: dict[Any, Any] | None = None
    ) -> dict[str, Any] | None:
        if self._has_draft_orders(session_id):
            return {"successful": False, "message": _DRAFT_ORDERS, "redirect": False}
        if self.row(session_id).get("state") == "closed":
            if self.env.version == 16:
                return {"successful": False, "message": _ALREADY_CLOSED, "redirect": True}
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
        if bank_payment_method_diffs:
            return self._missing_difference_accounts(bank_payment_method_diffs)
        return None

    def _missing_difference_accounts(self, diffs: dict[Any, Any]) -> dict[str, Any] | None:
        methods = self.env["pos.payment.method"]
        journals = self.env["account.journal"]
        rounding = currency_rounding(self.env)
        no_loss: list[str] = []
        no_profit: list[str] = []
        for method_id, diff in diffs.items():
            journal_id = methods.value(int(method_id), "journal_id")
            journal = journals.row(journal_id) if journal_id else {}
            rounded = float_round(float(diff or 0.0), rounding)
            if rounded < 0 and not journal.get("loss_account_id"):
                no_loss.append(journal.get("name") or "")
            elif rounded > 0 and not journal.get("profit_account_id"):
                no_profit.append(journal.get("name") or "")
        message = ""
        if no_loss:
            message += (
                "Need loss account for the following journals to post the lost amount: "
                f"{', '.join(no_loss)}\n"
            )
        if no_profit:
            message += (
                "Need profit account for the following journals to post the gained amount: "
                f"{', '.join(no_profit)}"
            )
        return {"successful": False, "message": message, "redirect": False} if message else None

    def _open_order_ids(self, session_id: int) -> list[int]:
        orders = self.env.db.table("pos.order")
        return sorted(
            i
            for i in orders.ids_where("session_id", session_id)
            if orders.rows[i].get("state") == "draft"
        )

    @public("records")
    def post_closing_cash_details(self, ids: list[int], counted_cash: float) -> dict[str, Any]:
        session_id = self.ensure_one(ids)
        refusal = self._cannot_close_session(session_id)
        if refusal:
            if self.env.version == 18:
                refusal["open_order_ids"] = self._open_order_ids(session_id)
            return refusal
        if not self.value(session_id, "cash_journal_id"):
            raise user_error("There is no cash register in this session.")
        self.write_records([session_id], {"cash_register_balance_end_real": counted_cash})
        return {"successful": True}

    @public("records")
    def update_closing_control_state_session(self, ids: list[int], notes: str) -> None:
        session_id = self.ensure_one(ids)
        if self.row(session_id).get("state") == "closed":
            raise user_error(_ALREADY_CLOSED)
        values: dict[str, Any] = {"state": "closing_control", "stop_at": now_string()}
        if self.env.version >= 17:
            values["closing_notes"] = notes
        self.write_records([session_id], values)

    @public("records")
    def close_session_from_ui(
        self, ids: list[int], bank_payment_method_diff_pairs: Any = None
    ) -> dict[str, Any]:
        diffs = dict(bank_payment_method_diff_pairs or [])
        session_id = self.ensure_one(ids)
        open_order_ids = self._open_order_ids(session_id)
        refusal = self._cannot_close_session(session_id, diffs)
        if refusal:
            if self.env.version == 18:
                refusal["open_order_ids"] = open_order_ids
            return refusal
        result = self.action_pos_session_closing_control(
            [session_id], bank_payment_method_diffs=diffs
        )
        if isinstance(result, dict):
            refused = {"successful": False, "message": result.get("name"), "redirect": True}
            if self.env.version == 18:
                refused = {"open_order_ids": open_order_ids, **refused}
            return refused
        return {"successful": True}

    # ------------------------------------------------------------------ inspection

    def books(self, session_id: int) -> dict[str, Any]:
        """What the session booked (or, before it closes, what its close would book)."""
        row = self.row(session_id)
        move_id = row.get("move_id")
        entry = plan_closing_entry(self, session_id) if not move_id else None
        if move_id:
            lines = self._booked_lines(move_id)
            payments = plan_payments(self, session_id)
        else:
            assert entry is not None
            lines, payments = entry.lines, entry.payments
        statement_lines = cast(AccountBankStatementLine, self.env["account.bank.statement.line"])
        statements = []
        for line_id in sorted(statement_lines.table.ids_where("pos_session_id", session_id)):
            statement = statement_lines.table.rows[line_id]
            statements.append(
                {
                    "payment_ref": statement.get("payment_ref") or "",
                    "amount": float(statement.get("amount") or 0.0),
                    "counterpart_account_id": statement_lines.counterpart_account(line_id),
                }
            )
        summary = summarize(self, lines, statements, payments)
        return {
            "state": row.get("state"),
            "move_id": move_id or None,
            "projected": not move_id and row.get("state") != "closed",
            **{
                name: float(self.value(session_id, name) or 0.0)
                for name in (
                    "cash_register_balance_start",
                    "cash_register_balance_end",
                    "cash_register_balance_end_real",
                    "cash_register_difference",
                )
            },
            **summary,
        }

    def _booked_lines(self, move_id: int) -> list[EntryLine]:
        table = self.env.db.table("account.move.line")
        return [
            EntryLine(
                name=line.get("name") or "",
                account_id=line.get("account_id"),
                balance=line.get("balance") or 0.0,
                display_type=line.get("display_type"),
                tax_ids=list(line.get("tax_ids") or []),
                tax_repartition_line_id=line.get("tax_repartition_line_id"),
                tax_base_amount=line.get("tax_base_amount") or 0.0,
            )
            for line in (table.rows[i] for i in sorted(table.ids_where("move_id", move_id)))
        ]
