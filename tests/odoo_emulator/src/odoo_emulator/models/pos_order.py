"""pos.order and its lines: order sync from outside, finalisation, refunds (odoo-api.md 2 and 3)."""

from __future__ import annotations

import uuid
from typing import Any, cast

from odoo_emulator.errors import OdooError, user_error, validation_error
from odoo_emulator.models.account import AccountTax, currency_rounding
from odoo_emulator.models.base import sequences
from odoo_emulator.models.pos_session import pos_sessions
from odoo_emulator.orm import (
    Field,
    Model,
    boolean,
    char,
    date_field,
    datetime_field,
    floating,
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
from odoo_emulator.rounding import sql_sum, stored_amount
from odoo_emulator.store import Row
from odoo_emulator.tax_computation import tax_details

ORDER_STATES = (
    ("draft", "New"),
    ("cancel", "Cancelled"),
    ("paid", "Paid"),
    ("done", "Posted"),
    ("invoiced", "Invoiced"),
)
# The POS UI's line keys that 17 drops even though they are fields (_is_field_accepted).
_LINE_KEYS_17_DROPS = frozenset({"combo_parent_id", "combo_line_ids"})


def _is_zero(amount: float) -> bool:
    """float_is_zero at the currency's 0.01 rounding."""
    return abs(amount) < 0.005


def _config_of_order(model: Model, row: Row) -> Row:
    return model.env["pos.config"].row(row["config_id"])


def _refunded_order_ids(model: Model, row: Row) -> list[int]:
    lines = model.env.db.table("pos.order.line")
    found = set()
    for line_id in lines.ids_where("order_id", row["id"]):
        refunded = lines.rows[line_id].get("refunded_orderline_id")
        original = lines.get(refunded) if refunded else None
        if original is not None:
            found.add(original["order_id"])
    return sorted(found)


def _refund_order_ids(model: Model, row: Row) -> list[int]:
    """Orders that refund some line of this one."""
    lines = model.env.db.table("pos.order.line")
    found = set()
    for line_id in lines.ids_where("order_id", row["id"]):
        for refund_line in lines.ids_where("refunded_orderline_id", line_id):
            found.add(lines.rows[refund_line]["order_id"])
    return sorted(found)


def _refunded_qty(model: Model, row: Row) -> float:
    lines = model.env.db.table("pos.order.line")
    return -sum(
        lines.rows[i].get("qty") or 0.0 for i in lines.ids_where("refunded_orderline_id", row["id"])
    )


def _has_refundable_lines(model: Model, row: Row) -> bool:
    lines = model.env["pos.order.line"]
    return any(
        (lines.table.rows[i].get("qty") or 0.0) > _refunded_qty(lines, lines.table.rows[i])
        for i in lines.table.ids_where("order_id", row["id"])
    )


def _tracking_number(model: Model, row: Row) -> str:
    return str((row["session_id"] % 10) * 100 + (row.get("sequence_number") or 0) % 100).zfill(3)


class PosOrder(Model):
    _name = "pos.order"
    _description = "Point of Sale Orders"
    _order = "date_order desc, name desc, id desc"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        fields = [
            char("name", "Order Ref", required=True, readonly=True, default="/"),
            datetime_field(
                "date_order", "Date", readonly=True, index=True, default=lambda m: now_string()
            ),
            many2one("user_id", "res.users", "Responsible", default=lambda m: m.env.uid),
            floating("amount_tax", "Taxes", readonly=True, required=True),
            floating("amount_total", "Total", readonly=True, required=True),
            floating("amount_paid", "Paid", required=True),
            floating("amount_return", "Returned", required=True, readonly=True),
            monetary("margin", "Margin", compute=lambda m, r: 0.0),
            one2many("lines", "pos.order.line", "order_id", "Order Lines"),
            many2one(
                "company_id", "res.company", "Company", required=True, readonly=True, index=True
            ),
            many2one("pricelist_id", "product.pricelist", "Pricelist"),
            many2one("partner_id", "res.partner", "Customer", index=True),
            integer("sequence_number", "Sequence Number", default=1),
            many2one("session_id", "pos.session", "Session", required=True, index=True),
            many2one("config_id", "pos.config", "Point of Sale", index=True),
            many2one(
                "currency_id",
                "res.currency",
                "Currency",
                compute=lambda m, r: m.env["pos.config"].value(r["config_id"], "currency_id"),
            ),
            floating("currency_rate", "Currency Rate", readonly=True, default=1.0),
            selection("state", "Status", ORDER_STATES, readonly=True, default="draft", index=True),
            many2one("account_move", "account.move", "Invoice", readonly=True, index=True),
            many2one(
                "picking_type_id",
                "stock.picking.type",
                "Operation Type",
                compute=lambda m, r: _config_of_order(m, r).get("picking_type_id"),
            ),
            text("note", "Internal Notes"),
            integer("nb_print", "Number of Print", readonly=True, default=0),
            char("pos_reference", "Receipt Number", readonly=True, index=True),
            many2one("sale_journal", "account.journal", "Sales Journal", readonly=True),
            many2one("fiscal_position_id", "account.fiscal.position", "Fiscal Position"),
            one2many("payment_ids", "pos.payment", "pos_order_id", "Payments", readonly=True),
            many2one(
                "session_move_id",
                "account.move",
                "Session Journal Entry",
                compute=lambda m, r: m.env["pos.session"].value(r["session_id"], "move_id"),
            ),
            boolean("to_invoice", "To invoice", default=False),
            boolean("is_invoiced", "Is Invoiced", compute=lambda m, r: bool(r.get("account_move"))),
            boolean("is_tipped", "Is this already tipped?", readonly=True, default=False),
            floating("tip_amount", "Tip Amount", readonly=True),
            integer(
                "refund_orders_count",
                "Number of Refund Orders",
                compute=lambda m, r: len(_refund_order_ids(m, r)),
            ),
            boolean(
                "is_refunded", "Is Refunded", compute=lambda m, r: bool(_refund_order_ids(m, r))
            ),
            boolean("has_refundable_lines", "Has Refundable Lines", compute=_has_refundable_lines),
            char("access_token", "Security Token"),
        ]
        if version == 16:
            fields.append(boolean("to_ship", "To ship", default=False))
        else:
            fields += [
                date_field("shipping_date", "Shipping Date"),
                char("ticket_code", "Ticket Code"),
                char("tracking_number", "Order Number", compute=_tracking_number),
                char("last_order_preparation_change", "Last preparation change"),
            ]
        if version in (16, 17):
            fields += [
                many2many(
                    "refunded_order_ids",
                    "pos.order",
                    "Refunded Orders",
                    compute=_refunded_order_ids,
                ),
                integer(
                    "refunded_orders_count",
                    "Refunded Orders Count",
                    compute=lambda m, r: len(_refunded_order_ids(m, r)),
                ),
            ]
        else:
            fields += [
                many2one(
                    "refunded_order_id",
                    "pos.order",
                    "Refunded Order",
                    compute=lambda m, r: next(iter(_refunded_order_ids(m, r)), None),
                ),
                char(
                    "uuid", "Uuid", readonly=True, index=True, default=lambda m: str(uuid.uuid4())
                ),
                monetary("amount_difference", "Difference", readonly=True),
            ]
        return fields

    # ------------------------------------------------------------------ ORM hooks

    def _prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        # pos.order.create reads vals['session_id'] directly: a KeyError without it (1.5).
        session = self.env["pos.session"].row(vals["session_id"])
        config = self.env["pos.config"].row(session["config_id"])
        if vals.get("state") == "paid" and not vals.get("name"):
            vals["name"] = sequences(self.env).next_value(config["sequence_id"])
        vals.setdefault("pricelist_id", config.get("pricelist_id") or False)
        vals.setdefault("fiscal_position_id", config.get("default_fiscal_position_id") or False)
        vals.setdefault("company_id", config.get("company_id"))
        vals["config_id"] = session["config_id"]
        vals["sale_journal"] = config.get("journal_id") or False
        return vals

    def _before_write(self, ids: list[int], vals: dict[str, Any]) -> dict[str, Any]:
        if vals.get("session_id"):
            session = self.env["pos.session"].row(vals["session_id"])
            vals["config_id"] = session["config_id"]
        if vals.get("state") == "paid":
            for order_id in ids:
                if self.row(order_id).get("name") == "/":
                    vals["name"] = self._compute_order_name(order_id)
        return vals

    def _check_unlink(self, ids: list[int]) -> None:
        for order_id in ids:
            if self.row(order_id).get("state") not in ("draft", "cancel"):
                raise user_error("In order to delete a sale, it must be new or cancelled.")

    def _compute_order_name(self, order_id: int) -> str:
        row = self.row(order_id)
        refunded = _refunded_order_ids(self, row)
        if refunded:
            names = [self.table.rows[i].get("name") or "/" for i in refunded]
            if self.env.version == 18:
                return f"{names[0]} REFUND"
            return ",".join(names) + " REFUND"
        config = _config_of_order(self, row)
        return sequences(self.env).next_value(config["sequence_id"])

    # ------------------------------------------------------------------ finalisation

    def _is_paid(self, order_id: int) -> bool:
        row = self.row(order_id)
        total = row.get("amount_total") or 0.0
        refunded = _refunded_order_ids(self, row)
        if self.env.version >= 17 and refunded:
            originals = [self.table.rows[i] for i in refunded]
            if _is_zero(sum(o.get("amount_total") or 0.0 for o in originals) + total):
                total = -sum(o.get("amount_paid") or 0.0 for o in originals)
        paid = row.get("amount_paid") or 0.0
        if _is_zero(round(total, 2) - paid):
            return True
        config = _config_of_order(self, row)
        rounding = self.env.db.table("account.cash.rounding").get(config.get("rounding_method"))
        if config.get("cash_rounding") and rounding is not None:
            # Cash rounding: the difference may be up to one rounding step (half for HALF-UP).
            step = rounding.get("rounding") or 0.01
            max_diff = step / 2 if rounding.get("rounding_method") == "HALF-UP" else step
            difference: float = round((row.get("amount_total") or 0.0) - paid, 2)
            return abs(difference) <= max_diff + 1e-9
        return False

    @public("records")
    def action_pos_order_paid(self, ids: list[int]) -> bool:
        order_id = self.ensure_one(ids)
        if not self._is_paid(order_id):
            raise user_error(f"Order {self.row(order_id).get('name')} is not fully paid.")
        self.write_records([order_id], {"state": "paid"})
        return True

    @public("records")
    def action_pos_order_cancel(self, ids: list[int]) -> bool:
        self.write_records(self._ids(ids), {"state": "cancel"})
        return True

    def _process_saved_order(self, order_id: int, draft: bool) -> int:
        if not draft:
            try:
                self.action_pos_order_paid([order_id])
            except Exception as exc:
                # Odoo catches everything but database errors here and only logs it, so an
                # underpaid order silently stays draft (odoo-api.md 2.5).
                if isinstance(exc, OdooError) and exc.is_database_error:
                    raise
                self.env.log(f"Could not fully process the POS Order: {exc}")
        row = self.row(order_id)
        if row.get("to_invoice") and row.get("state") == "paid":
            self._generate_invoice(order_id)
        return order_id

    def _generate_invoice(self, order_id: int) -> None:
        row = self.row(order_id)
        if row.get("account_move"):
            return
        if not row.get("partner_id"):
            raise user_error("Please provide a partner for the sale.")
        config = _config_of_order(self, row)
        total = row.get("amount_total") or 0.0
        code = "account.move.out_invoice" if total >= 0 else "account.move.out_refund"
        move_id = self.env["account.move"].create_records(
            [
                {
                    "name": sequences(self.env).next_by_code(code),
                    "move_type": "out_invoice" if total >= 0 else "out_refund",
                    "state": "posted",
                    "partner_id": row["partner_id"],
                    "journal_id": config.get("invoice_journal_id") or False,
                    "company_id": row.get("company_id"),
                    "currency_id": self.value(order_id, "currency_id") or False,
                    "amount_total": abs(total),
                    "invoice_origin": row.get("name"),
                }
            ]
        )[0]
        self.write_records([order_id], {"account_move": move_id, "state": "invoiced"})

    def _add_payment(self, order_id: int, vals: dict[str, Any]) -> None:
        self.env["pos.payment"].create_records([vals])
        self._recompute_amount_paid(order_id)

    def _recompute_amount_paid(self, order_id: int) -> None:
        payments = self.env.db.table("pos.payment")
        paid = sum(
            payments.rows[i].get("amount") or 0.0
            for i in payments.ids_where("pos_order_id", order_id)
        )
        self.write_records([order_id], {"amount_paid": paid})

    def _record_change(self, order_id: int, session_id: int, amount_return: float) -> None:
        """The negative `return` payment on the session's first cash method."""
        session = self.env["pos.session"]
        methods = self.env["pos.payment.method"]
        cash = [
            i
            for i in methods.search_ids(
                [("id", "in", session.value(session_id, "payment_method_ids"))]
            )
            if methods.table.rows[i].get("is_cash_count")
        ]
        if not cash:
            raise user_error(
                "No cash statement found for this session. Unable to record returned cash."
            )
        self._add_payment(
            order_id,
            {
                "name": "return",
                "pos_order_id": order_id,
                "amount": -amount_return,
                "payment_date": now_string(),
                "payment_method_id": cash[0],
                "is_change": True,
            },
        )

    def _remove_lines_and_payments(self, order_id: int) -> None:
        lines = self.env["pos.order.line"]
        lines.unlink_records(sorted(lines.table.ids_where("order_id", order_id)))
        payments = self.env["pos.payment"]
        payments.unlink_records(sorted(payments.table.ids_where("pos_order_id", order_id)))

    # ------------------------------------------------------------------ 16/17: create_from_ui

    @public("model", versions=(16, 17))
    def create_from_ui(
        self, orders: list[dict[str, Any]], draft: bool = False
    ) -> list[dict[str, Any]]:
        _names = [order["data"]["name"] for order in orders]
        order_ids: list[int] = []
        early_16 = self.env.version == 16 and self.env.behaviour.odoo16_dedup == "early"
        for order in orders:
            data = order["data"]
            name = data["name"]
            if early_16:
                # Early 16.0 only looks for the order when the POS sent a server_id (O16a).
                existing = None
                if "server_id" in data:
                    found = self.search_ids(
                        ["|", ("id", "=", data["server_id"]), ("pos_reference", "=", name)], limit=1
                    )
                    existing = found[0] if found else None
                if existing is None or self.table.rows[existing].get("state") == "draft":
                    order_ids.append(self._process_ui_order(order, draft, existing))
                continue
            existing_draft = None
            if data.get("server_id"):
                found = self.search_ids(
                    ["&", ("id", "=", data["server_id"]), ("state", "=", "draft")], limit=1
                )
                if not found and (self.env.version == 16 or draft):
                    continue
                existing_draft = found[0] if found else None
            if existing_draft is None:
                found = self.search_ids(
                    ["&", ("pos_reference", "=", name), ("state", "=", "draft")], limit=1
                )
                existing_draft = found[0] if found else None
            if existing_draft is not None:
                order_ids.append(self._process_ui_order(order, draft, existing_draft))
                continue
            existing_orders = self.search_ids([("pos_reference", "=", name)])
            if all(not self._is_the_same_order(data, e) for e in existing_orders):
                order_ids.append(self._process_ui_order(order, draft, None))
            else:
                self.env.log(
                    f"PoS order {name} already exists and is the same as the one sent by the PoS"
                )
        return self.search_read(
            [("id", "in", order_ids)], ["id", "pos_reference", "account_move"], load=None
        )

    def _is_the_same_order(self, data: dict[str, Any], existing_id: int) -> bool:
        received_payments = [
            (p[2]["amount"], p[2]["payment_method_id"]) for p in data["statement_ids"]
        ]
        payments = self.env.db.table("pos.payment")
        existing_payments = [
            (payments.rows[i].get("amount") or 0.0, payments.rows[i].get("payment_method_id"))
            for i in payments.ids_where("pos_order_id", existing_id)
        ]
        for amount, method in received_payments:
            if not any(_is_zero(amount - ea) and method == em for ea, em in existing_payments):
                return False
        lines = self.env.db.table("pos.order.line")
        existing_line_ids = lines.ids_where("order_id", existing_id)
        if len(data["lines"]) != len(existing_line_ids):
            return False
        received_lines = sorted(
            (line[2]["product_id"], line[2]["price_unit"]) for line in data["lines"]
        )
        existing_lines = sorted(
            (lines.rows[i]["product_id"], lines.rows[i].get("price_unit") or 0.0)
            for i in existing_line_ids
        )
        return received_lines == existing_lines

    def _process_ui_order(self, order: dict[str, Any], draft: bool, existing_id: int | None) -> int:
        data = order["data"]
        sessions = self.env["pos.session"]
        original_session_id = data["pos_session_id"]
        if sessions.row(original_session_id).get("state") in ("closing_control", "closed"):
            data["pos_session_id"] = self._rescue_session(data)
        partner_id = data.get("partner_id")
        if (
            self.env.version == 17
            and partner_id
            and not self.env["res.partner"].exists_id(partner_id)
        ):
            data.update({"partner_id": False, "to_invoice": False})
        if existing_id is None:
            order_id = self.create_records([self._order_fields(data)])[0]
        else:
            order_id = existing_id
            lines = self.env["pos.order.line"]
            lines.unlink_records(sorted(lines.table.ids_where("order_id", order_id)))
            data["user_id"] = self.row(order_id).get("user_id") or False
            self.write_records([order_id], self._order_fields(data))
        self._process_payment_lines(data, order_id, original_session_id, draft)
        return self._process_saved_order(order_id, draft)

    def _rescue_session(self, data: dict[str, Any]) -> int:
        """16/17: orders for a closed session go to a rescue session (odoo-api.md 2.4)."""
        sessions = pos_sessions(self.env)
        closed = sessions.row(data["pos_session_id"])
        self.env.log(
            f"session {closed.get('name')} (ID: {closed['id']}) was closed but received order "
            f"{data['name']} (total: {data['amount_total']}) belonging to it"
        )
        rescue = sessions.search_ids(
            [
                ("state", "not in", ("closed", "closing_control")),
                ("rescue", "=", True),
                ("config_id", "=", closed["config_id"]),
            ],
            limit=1,
        )
        if rescue:
            return rescue[0]
        new_id = sessions.create_records(
            [
                {
                    "config_id": closed["config_id"],
                    "name": f"(RESCUE FOR {closed.get('name')})",
                    "rescue": True,
                }
            ]
        )[0]
        sessions.open_sessions([new_id])
        if sessions.value(new_id, "cash_control"):
            previous = sessions.search_ids(
                [("config_id", "=", closed["config_id"]), ("id", "!=", new_id)], limit=1
            )
            start = (
                sessions.value(previous[0], "cash_register_balance_end_real") if previous else 0.0
            )
            sessions.write_records([new_id], {"cash_register_balance_start": start})
        return new_id

    def _order_fields(self, ui_order: dict[str, Any]) -> dict[str, Any]:
        """_order_fields of 16/17: these keys are read directly, so a missing one is a KeyError."""
        session_id = ui_order["pos_session_id"]
        lines = cast(PosOrderLine, self.env["pos.order.line"])
        version = self.env.version
        fields: dict[str, Any] = {
            "user_id": ui_order["user_id"] or False,
            "session_id": ui_order["pos_session_id"],
            "lines": [lines.order_line_fields(line, session_id) for line in ui_order["lines"]]
            if ui_order["lines"]
            else False,
            "pos_reference": ui_order["name"],
            "sequence_number": ui_order["sequence_number"],
            "partner_id": ui_order["partner_id"] or False,
        }
        date_key = "creation_date" if version == 16 else "date_order"
        fields["date_order"] = ui_order[date_key].replace("T", " ")[:19]
        fields["fiscal_position_id"] = ui_order["fiscal_position_id"]
        fields["pricelist_id"] = (
            ui_order["pricelist_id"] if version == 16 else ui_order.get("pricelist_id")
        )
        fields.update(
            {
                "amount_paid": ui_order["amount_paid"],
                "amount_total": ui_order["amount_total"],
                "amount_tax": ui_order["amount_tax"],
                "amount_return": ui_order["amount_return"],
                "company_id": self.env["pos.session"].value(session_id, "company_id"),
                "to_invoice": ui_order.get("to_invoice", False),
                "is_tipped": ui_order.get("is_tipped", False),
                "tip_amount": ui_order.get("tip_amount", 0),
                "access_token": ui_order.get("access_token", ""),
            }
        )
        if version == 16:
            fields["to_ship"] = ui_order.get("to_ship", False)
        else:
            fields["shipping_date"] = ui_order.get("shipping_date", False)
            fields["ticket_code"] = ui_order.get("ticket_code", "")
            fields["last_order_preparation_change"] = ui_order.get(
                "last_order_preparation_change", "{}"
            )
        return fields

    def _process_payment_lines(
        self, data: dict[str, Any], order_id: int, session_id: int, draft: bool
    ) -> None:
        payments = self.env["pos.payment"]
        payments.unlink_records(sorted(payments.table.ids_where("pos_order_id", order_id)))
        for payment in data["statement_ids"]:
            self._add_payment(order_id, self._payment_fields(order_id, payment[2]))
        self._recompute_amount_paid(order_id)
        if not draft and not _is_zero(data["amount_return"]):
            self._record_change(order_id, session_id, data["amount_return"])

    @staticmethod
    def _payment_fields(order_id: int, ui_paymentline: dict[str, Any]) -> dict[str, Any]:
        return {
            "amount": ui_paymentline["amount"] or 0.0,
            "payment_date": ui_paymentline["name"],
            "payment_method_id": ui_paymentline["payment_method_id"],
            "card_type": ui_paymentline.get("card_type"),
            "cardholder_name": ui_paymentline.get("cardholder_name"),
            "transaction_id": ui_paymentline.get("transaction_id"),
            "payment_status": ui_paymentline.get("payment_status"),
            "ticket": ui_paymentline.get("ticket"),
            "pos_order_id": order_id,
        }

    # ------------------------------------------------------------------ 18: sync_from_ui

    @public("model", versions=(18,))
    def sync_from_ui(self, orders: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        order_ids: list[int] = []
        moved_sessions: list[int] = []
        for order in orders:
            if len(self._refunded_orders_in(order)) > 1:
                raise validation_error("You can only refund products from the same order.")
            found = self.search_ids([("uuid", "=", order.get("uuid"))], limit=1)
            existing = found[0] if found else None
            if existing is not None and self.table.rows[existing].get("state") == "draft":
                order_ids.append(self._process_flat_order(order, existing, moved_sessions))
            elif existing is None:
                order_ids.append(self._process_flat_order(order, None, moved_sessions))
            else:
                self.env.log(f"Order with uuid {order.get('uuid')} is already paid; skipped")
                if self.env.behaviour.odoo18_variant == "late":
                    order_ids.append(existing)
        lines = self.env["pos.order.line"]
        payments = self.env["pos.payment"]
        line_ids = sorted({i for o in order_ids for i in lines.table.ids_where("order_id", o)})
        payment_ids = sorted(
            {i for o in order_ids for i in payments.table.ids_where("pos_order_id", o)}
        )
        lot_table = self.env.db.table("pos.pack.operation.lot")
        lot_ids = sorted(
            {i for line in line_ids for i in lot_table.ids_where("pos_order_line_id", line)}
        )
        return {
            "pos.order": self.read_records(order_ids, None, load=None),
            "pos.session": self.env["pos.session"].read_records(
                sorted(set(moved_sessions)), None, load=None
            ),
            "pos.payment": payments.read_records(payment_ids, None, load=None),
            "pos.order.line": lines.read_records(line_ids, None, load=None),
            "pos.pack.operation.lot": self.env["pos.pack.operation.lot"].read_records(
                lot_ids, None, load=None
            ),
            "product.attribute.custom.value": [],
        }

    def _refunded_orders_in(self, order: dict[str, Any]) -> set[int]:
        lines = self.env.db.table("pos.order.line")
        refunded_line_ids = [
            line[2]["refunded_orderline_id"]
            for line in order["lines"]
            if line[0] in (0, 1) and line[2].get("refunded_orderline_id")
        ]
        return {lines.rows[i]["order_id"] for i in refunded_line_ids if lines.get(i) is not None}

    def _process_flat_order(
        self, order: dict[str, Any], existing_id: int | None, moved_sessions: list[int]
    ) -> int:
        draft = order.get("state") == "draft"
        sessions = self.env["pos.session"]
        original_session_id = order["session_id"]
        if sessions.row(original_session_id).get("state") in ("closing_control", "closed"):
            order["session_id"] = self._open_session_of_same_config(order)
            moved_sessions.append(order["session_id"])
        if order.get("partner_id") and not self.env["res.partner"].exists_id(order["partner_id"]):
            order.update({"partner_id": False, "to_invoice": False})
        if existing_id is None:
            vals = {key: value for key, value in order.items() if key != "name"}
            vals["pos_reference"] = order.get("name")
            # Saved as draft first; validation below decides whether it becomes paid.
            vals["state"] = "draft"
            order_id = self.create_records([vals])[0]
        else:
            order_id = existing_id
            if self.env.behaviour.odoo18_variant == "late":
                del order["uuid"]
                del order["access_token"]
            else:
                order.pop("uuid", None)
            vals = {key: value for key, value in order.items() if key != "name"}
            if "name" in order:
                vals["pos_reference"] = order["name"]
            vals["state"] = "draft"
            self._remove_lines_and_payments(order_id)
            self.write_records([order_id], vals)
        self._recompute_amount_paid(order_id)
        if not draft and not _is_zero(order["amount_return"]):
            self._record_change(order_id, original_session_id, order["amount_return"])
            self._compute_prices(order_id)
        return self._process_saved_order(order_id, draft)

    def _compute_prices(self, order_id: int) -> None:
        """18 `_compute_prices`: paid, returned, tax and total amounts from payments and lines."""
        row = self.row(order_id)
        payments = self.env.db.table("pos.payment")
        amounts = [
            payments.rows[i].get("amount") or 0.0
            for i in payments.ids_where("pos_order_id", order_id)
        ]
        is_refund_order = (row.get("amount_total") or 0.0) < 0.0
        rounding = currency_rounding(self.env)
        taxes = cast(AccountTax, self.env["account.tax"])
        untaxed = tax = 0.0
        lines = self.env.db.table("pos.order.line")
        for line_id in sorted(lines.ids_where("order_id", order_id)):
            line = lines.rows[line_id]
            tax_ids = taxes.search_ids([("id", "in", line.get("tax_ids") or [])])
            excluded, details = tax_details(
                taxes.rules(tax_ids),
                (line.get("price_unit") or 0.0) * (1 - (line.get("discount") or 0.0) / 100.0),
                (line.get("qty") or 0.0) * (-1 if is_refund_order else 1),
                rounding,
            )
            untaxed += excluded
            tax += sum(amount for _rule, amount, _base in details)
        factor = -1 if is_refund_order else 1
        paid = sql_sum(amounts)
        total = factor * stored_amount(untaxed + tax, rounding)
        self.write_records(
            [order_id],
            {
                "amount_paid": paid,
                "amount_return": -sql_sum([a for a in amounts if a < 0]),
                "amount_tax": factor * stored_amount(tax, rounding),
                "amount_total": total,
                "amount_difference": stored_amount(paid - total, rounding),
            },
        )

    def _open_session_of_same_config(self, order: dict[str, Any]) -> int:
        """18: no rescue sessions; another live session of the config, or an error (2.4)."""
        sessions = self.env["pos.session"]
        closed = sessions.row(order["session_id"])
        self.env.log(
            f"session {closed.get('name')} (ID: {closed['id']}) was closed but received order "
            f"{order['name']} (total: {order['amount_total']}) belonging to it"
        )
        found = sessions.search_ids(
            [
                ("state", "not in", ("closed", "closing_control")),
                ("config_id", "=", closed["config_id"]),
            ],
            limit=1,
        )
        if not found:
            raise user_error(
                "No open session available. Please open a new session to capture the order."
            )
        return found[0]

    # ------------------------------------------------------------------ backend refund

    @public("records")
    def refund(self, ids: list[int]) -> dict[str, Any]:
        refund_ids = []
        lines = self.env["pos.order.line"]
        for order_id in self._ids(ids):
            row = self.row(order_id)
            config_id = row["config_id"]
            current = self.env["pos.config"].value(config_id, "current_session_id")
            if not current:
                config_name = self.env["pos.config"].display_name(config_id)
                raise user_error(
                    f"To return product(s), you need to open a session in the POS {config_name}"
                )
            refund_id = self.create_records(
                [
                    {
                        "name": f"{row.get('name')} REFUND",
                        "session_id": current,
                        "date_order": now_string(),
                        "pos_reference": row.get("pos_reference") or False,
                        "lines": False,
                        "amount_tax": -(row.get("amount_tax") or 0.0),
                        "amount_total": -(row.get("amount_total") or 0.0),
                        "amount_paid": 0,
                        "amount_return": 0,
                        "partner_id": row.get("partner_id") or False,
                        "pricelist_id": row.get("pricelist_id") or False,
                        "fiscal_position_id": row.get("fiscal_position_id") or False,
                        "user_id": row.get("user_id") or False,
                    }
                ]
            )[0]
            for line_id in sorted(lines.table.ids_where("order_id", order_id)):
                line = lines.table.rows[line_id]
                lines.create_records(
                    [
                        {
                            "name": f"{line.get('name')} REFUND",
                            "qty": -((line.get("qty") or 0.0) - _refunded_qty(lines, line)),
                            "order_id": refund_id,
                            "product_id": line["product_id"],
                            "price_unit": line.get("price_unit") or 0.0,
                            "discount": line.get("discount") or 0.0,
                            "price_subtotal": -(line.get("price_subtotal") or 0.0),
                            "price_subtotal_incl": -(line.get("price_subtotal_incl") or 0.0),
                            "tax_ids": [(6, 0, line.get("tax_ids") or [])],
                            "full_product_name": line.get("full_product_name") or False,
                            "refunded_orderline_id": line_id,
                        }
                    ]
                )
            refund_ids.append(refund_id)
        return {
            "name": "Return Products",
            "view_mode": "form",
            "res_model": "pos.order",
            "res_id": refund_ids[0] if refund_ids else False,
            "view_id": False,
            "context": self.env.context,
            "type": "ir.actions.act_window",
            "target": "current",
        }


class PosOrderLine(Model):
    _name = "pos.order.line"
    _description = "Point of Sale Order Lines"
    _rec_name = "product_id"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        fields = [
            many2one("company_id", "res.company", "Company"),
            char("name", "Line No", required=True),
            char("notice", "Discount Notice"),
            many2one("product_id", "product.product", "Product", required=True),
            floating("price_unit", "Unit Price"),
            floating("qty", "Quantity", default=1.0),
            floating("price_subtotal", "Subtotal w/o Tax", readonly=True, required=True),
            floating("price_subtotal_incl", "Subtotal", readonly=True, required=True),
            monetary("margin", "Margin", compute=lambda m, r: 0.0),
            floating("total_cost", "Total cost", readonly=True),
            boolean("is_total_cost_computed", "Is Total Cost Computed"),
            floating("discount", "Discount (%)", default=0.0),
            many2one(
                "order_id", "pos.order", "Order Ref", required=True, index=True, ondelete="cascade"
            ),
            many2many("tax_ids", "account.tax", "Taxes", readonly=True),
            many2many(
                "tax_ids_after_fiscal_position",
                "account.tax",
                "Taxes to Apply",
                compute=lambda m, r: r.get("tax_ids") or [],
            ),
            one2many(
                "pack_lot_ids", "pos.pack.operation.lot", "pos_order_line_id", "Lot/serial Number"
            ),
            many2one(
                "product_uom_id",
                "uom.uom",
                "Product UoM",
                compute=lambda m, r: m.env["product.product"].value(r["product_id"], "uom_id"),
            ),
            many2one(
                "currency_id",
                "res.currency",
                "Currency",
                compute=lambda m, r: m.env["pos.order"].value(r["order_id"], "currency_id"),
            ),
            char("full_product_name", "Full Product Name"),
            char("customer_note", "Customer Note"),
            one2many(
                "refund_orderline_ids",
                "pos.order.line",
                "refunded_orderline_id",
                "Refund Order Lines",
            ),
            many2one("refunded_orderline_id", "pos.order.line", "Refunded Order Line", index=True),
            floating("refunded_qty", "Refunded Quantity", compute=_refunded_qty),
        ]
        if version >= 17:
            fields += [
                floating("price_extra", "Price extra"),
                boolean("skip_change", "Skip line when sending ticket to kitchen printers."),
                many2one("combo_parent_id", "pos.order.line", "Combo Parent", index=True),
                one2many("combo_line_ids", "pos.order.line", "combo_parent_id", "Combo Lines"),
            ]
        if version == 17:
            fields.append(char("uuid", "Uuid", readonly=True))
        if version == 18:
            fields.append(char("uuid", "Uuid", readonly=True, default=lambda m: str(uuid.uuid4())))
        return fields

    def _prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        order = self.env.db.table("pos.order").get(vals.get("order_id"))
        if order is not None:
            vals["company_id"] = order.get("company_id")
        if self.env.version == 18 and "name" not in vals:
            # 18 names lines itself when the POS does not (no _order_line_fields any more).
            vals["name"] = self._next_line_name(order.get("session_id") if order else None)
        return vals

    def _next_line_name(self, session_id: int | None) -> str:
        session = self.env.db.table("pos.session").get(session_id)
        config = self.env.db.table("pos.config").get(session.get("config_id")) if session else None
        if config and config.get("sequence_line_id"):
            return sequences(self.env).next_value(config["sequence_line_id"])
        return sequences(self.env).next_by_code("pos.order.line")

    def order_line_fields(self, line: list[Any], session_id: int | None) -> list[Any]:
        """16/17 _order_line_fields: default name and taxes, then drop keys that are not fields."""
        if line and "name" not in line[2]:
            line[2]["name"] = self._next_line_name(session_id)
        if line and "tax_ids" not in line[2]:
            taxes = self.env["product.product"].value(line[2]["product_id"], "taxes_id") or []
            line[2]["tax_ids"] = [(6, 0, list(taxes))]
        drops = _LINE_KEYS_17_DROPS if self.env.version == 17 else frozenset()
        kept = {k: v for k, v in line[2].items() if k in self.fields and k not in drops}
        return [line[0], line[1], kept]


class PosPackOperationLot(Model):
    _name = "pos.pack.operation.lot"
    _description = "Specify product lot/serial number in pos order line"
    _rec_name = "lot_name"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            many2one(
                "pos_order_line_id", "pos.order.line", "Order Line", index=True, ondelete="cascade"
            ),
            many2one(
                "order_id",
                "pos.order",
                "Order",
                compute=lambda m, r: m.env["pos.order.line"].value(
                    r["pos_order_line_id"], "order_id"
                ),
            ),
            char("lot_name", "Lot Name"),
            many2one(
                "product_id",
                "product.product",
                "Product",
                compute=lambda m, r: m.env["pos.order.line"].value(
                    r["pos_order_line_id"], "product_id"
                ),
            ),
        ]
