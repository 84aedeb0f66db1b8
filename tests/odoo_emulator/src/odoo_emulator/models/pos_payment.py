"""pos.payment.method and pos.payment (odoo-api.md 2.6 and 6.3)."""

from __future__ import annotations

from typing import Any

from odoo_emulator.errors import user_error, validation_error
from odoo_emulator.orm import (
    Field,
    Model,
    boolean,
    char,
    datetime_field,
    floating,
    integer,
    many2many,
    many2one,
    monetary,
    now_string,
    selection,
)
from odoo_emulator.store import Row


def _journal_type(model: Model, row: Row) -> str | None:
    journal_id = row.get("journal_id")
    if not journal_id:
        return None
    journal = model.env.db.table("account.journal").get(journal_id)
    return journal.get("type") if journal else None


def _method_type(model: Model, row: Row) -> str:
    journal_type = _journal_type(model, row)
    if journal_type is None:
        return "pay_later"
    return "cash" if journal_type == "cash" else "bank"


def open_sessions_of_configs(model: Model, config_ids: list[int]) -> list[int]:
    sessions = model.env.db.table("pos.session")
    return sorted(
        session_id
        for config_id in config_ids
        for session_id in sessions.ids_where("config_id", config_id)
        if sessions.rows[session_id].get("state") != "closed"
    )


class PosPaymentMethod(Model):
    _name = "pos.payment.method"
    _description = "Point of Sale Payment Methods"
    _order = "sequence, id"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        fields = [
            char("name", "Method", required=True),
            integer("sequence", "Sequence"),
            many2one("journal_id", "account.journal", "Journal", index=True),
            many2one("receivable_account_id", "account.account", "Intermediary Account"),
            many2one("outstanding_account_id", "account.account", "Outstanding Account"),
            boolean("is_cash_count", "Cash"),
            boolean("split_transactions", "Identify Customer", default=False),
            many2many(
                "open_session_ids",
                "pos.session",
                "Pos Sessions",
                compute=lambda m, r: open_sessions_of_configs(m, m.raw(r, "config_ids")),
            ),
            many2many(
                "config_ids",
                "pos.config",
                "Point of Sale",
                mirror_of=("pos.config", "payment_method_ids"),
            ),
            many2one("company_id", "res.company", "Company", required=True, default=lambda m: 1),
            selection("use_payment_terminal", "Use a Payment Terminal", [("none", "None")]),
            boolean("active", "Active", default=True),
            selection(
                "type",
                "Type",
                [("cash", "Cash"), ("bank", "Bank"), ("pay_later", "Customer Account")],
                compute=_method_type,
            ),
        ]
        if version == 18:
            fields.append(
                selection(
                    "payment_method_type",
                    "Integration",
                    [
                        ("none", "None required"),
                        ("terminal", "Terminal"),
                        ("qr_code", "Bank App (QR Code)"),
                    ],
                    default="none",
                )
            )
        return fields

    def _prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        # is_cash_count is computed and stored from the journal type (odoo-api.md 6.3).
        vals["is_cash_count"] = (
            _journal_type(self, {"journal_id": vals.get("journal_id")}) == "cash"
        )
        return vals

    def _before_write(self, ids: list[int], vals: dict[str, Any]) -> dict[str, Any]:
        if set(vals) - {"sequence"}:
            open_ids = sorted({s for i in ids for s in self.value(i, "open_session_ids")})
            if open_ids:
                sessions = self.env["pos.session"]
                names = " ".join(sessions.value(s, "name") for s in open_ids)
                raise user_error(
                    "Please close and validate the following open PoS Sessions before modifying "
                    f"this payment method.\nOpen sessions: {names}"
                )
        if "journal_id" in vals:
            vals["is_cash_count"] = (
                _journal_type(self, {"journal_id": vals.get("journal_id")}) == "cash"
            )
        return vals


class PosPayment(Model):
    _name = "pos.payment"
    _description = "Point of Sale Payments"
    _order = "id desc"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        fields = [
            char("name", "Label"),
            monetary("amount", "Amount", required=True),
            many2one("payment_method_id", "pos.payment.method", "Payment Method", required=True),
            datetime_field("payment_date", "Date", required=True, default=lambda m: now_string()),
            many2one(
                "currency_id",
                "res.currency",
                "Currency",
                compute=lambda m, r: m.env["pos.order"].value(r["pos_order_id"], "currency_id"),
            ),
            floating("currency_rate", "Conversion Rate", compute=lambda m, r: 1.0),
            many2one(
                "partner_id",
                "res.partner",
                "Customer",
                compute=lambda m, r: m.env["pos.order"].value(r["pos_order_id"], "partner_id"),
            ),
            many2one("session_id", "pos.session", "Session", index=True),
            many2one("company_id", "res.company", "Company"),
            char("card_type", "Type of card used"),
            char("cardholder_name", "Cardholder Name"),
            char("transaction_id", "Payment Transaction ID"),
            char("payment_status", "Payment Status"),
            char("ticket", "Payment Receipt Info"),
            boolean("is_change", "Is this payment change?", default=False),
            many2one("account_move_id", "account.move", "Account Move"),
            many2one(
                "pos_order_id", "pos.order", "Order", required=True, index=True, ondelete="cascade"
            ),
        ]
        if version == 18:
            fields.append(char("uuid", "Uuid"))
        return fields

    def _prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        order = self.env.db.table("pos.order").get(vals.get("pos_order_id"))
        if order is not None:
            # session_id and company_id are related fields stored from the order.
            vals["session_id"] = order.get("session_id")
            vals["company_id"] = order.get("company_id")
        return vals

    def _after_create(self, ids: list[int]) -> None:
        for payment_id in ids:
            self._check_payment_method(payment_id)

    def _after_write(self, ids: list[int], vals: dict[str, Any]) -> None:
        if "payment_method_id" in vals:
            for payment_id in ids:
                self._check_payment_method(payment_id)

    def _check_payment_method(self, payment_id: int) -> None:
        row = self.row(payment_id)
        session = self.env.db.table("pos.session").get(row.get("session_id"))
        allowed: list[int] = []
        if session is not None:
            config = self.env.db.table("pos.config").get(session.get("config_id"))
            allowed = (config or {}).get("payment_method_ids") or []
        if row.get("payment_method_id") not in allowed:
            raise validation_error(
                "The payment method selected is not allowed in the config of the POS session."
            )
