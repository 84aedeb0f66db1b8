"""pos.config, the register (odoo-api.md section 5)."""

from __future__ import annotations

import uuid
from typing import Any

from odoo_emulator.errors import user_error, validation_error
from odoo_emulator.orm import (
    Field,
    Model,
    boolean,
    char,
    datetime_field,
    integer,
    many2many,
    many2one,
    monetary,
    one2many,
    selection,
    text,
)
from odoo_emulator.store import Row

# Fields that cannot change while a session is open, with the labels Odoo's message uses.
_FORBIDDEN_WHILE_OPEN = (
    "module_pos_hr",
    "module_pos_restaurant",
    "available_pricelist_ids",
    "limit_categories",
    "iface_available_categ_ids",
    "use_pricelist",
    "module_pos_discount",
    "payment_method_ids",
    "iface_tipproduct",
)


def _live_sessions(model: Model, row: Row) -> list[Row]:
    """The config's sessions that are not closed, newest first (sessions are ordered id desc)."""
    sessions = model.env.db.table("pos.session")
    ids = sorted(sessions.ids_where("config_id", row["id"]), reverse=True)
    return [sessions.rows[i] for i in ids if sessions.rows[i].get("state") != "closed"]


def _current_session(model: Model, row: Row) -> Row | None:
    return next((s for s in _live_sessions(model, row) if not s.get("rescue")), None)


def _has_cash_method(model: Model, row: Row) -> bool:
    methods = model.env.db.table("pos.payment.method")
    return any(
        (methods.get(i) or {}).get("is_cash_count") for i in row.get("payment_method_ids") or []
    )


def _currency(model: Model, row: Row) -> int | None:
    journal = model.env.db.table("account.journal").get(row.get("journal_id"))
    if journal and journal.get("currency_id"):
        currency: int = journal["currency_id"]
        return currency
    company = model.env.db.table("res.company").get(row.get("company_id"))
    return company.get("currency_id") if company else None


def _default_pricelist(model: Model) -> int | None:
    found = model.env["product.pricelist"].search_ids([], limit=1)
    return found[0] if found else None


class PosConfig(Model):
    _name = "pos.config"
    _description = "Point of Sale Configuration"
    _order = "id"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        fields = [
            char("name", "Point of Sale", required=True, index=True),
            boolean("active", "Active", default=True),
            many2one("company_id", "res.company", "Company", required=True, default=lambda m: 1),
            many2one("currency_id", "res.currency", "Currency", compute=_currency),
            many2one("journal_id", "account.journal", "Point of Sale Journal"),
            many2one("invoice_journal_id", "account.journal", "Invoice Journal"),
            many2one("picking_type_id", "stock.picking.type", "Operation Type", required=True),
            many2one("warehouse_id", "stock.warehouse", "Warehouse"),
            many2one(
                "pricelist_id",
                "product.pricelist",
                "Default Pricelist",
                required=version == 16,
                default=_default_pricelist,
            ),
            many2many("available_pricelist_ids", "product.pricelist", "Available Pricelists"),
            boolean("use_pricelist", "Use a pricelist.", default=False),
            many2many("payment_method_ids", "pos.payment.method", "Payment Methods"),
            boolean("cash_control", "Advanced Cash Control", compute=_has_cash_method),
            many2one("sequence_id", "ir.sequence", "Order IDs Sequence", readonly=True),
            many2one("sequence_line_id", "ir.sequence", "Order Line IDs Sequence", readonly=True),
            char("uuid", "uuid", readonly=True),
            one2many("session_ids", "pos.session", "config_id", "Sessions"),
            many2one(
                "current_session_id",
                "pos.session",
                "Current Session",
                compute=lambda m, r: (_current_session(m, r) or {}).get("id"),
            ),
            selection(
                "current_session_state",
                "Current Session State",
                [
                    ("opening_control", "Opening Control"),
                    ("opened", "In Progress"),
                    ("closing_control", "Closing Control"),
                    ("closed", "Closed & Posted"),
                ],
                compute=lambda m, r: (_current_session(m, r) or {}).get("state"),
            ),
            boolean(
                "has_active_session",
                "Has Active Session",
                compute=lambda m, r: bool(_live_sessions(m, r)),
            ),
            many2one(
                "default_fiscal_position_id", "account.fiscal.position", "Default Fiscal Position"
            ),
            many2many("fiscal_position_ids", "account.fiscal.position", "Fiscal Positions"),
            boolean("tax_regime_selection", "Tax Regime Selection value", default=False),
            boolean("cash_rounding", "Cash Rounding", default=False),
            many2one("rounding_method", "account.cash.rounding", "Cash rounding"),
            boolean("only_round_cash_method", "Only apply rounding on cash", default=False),
            boolean("iface_tipproduct", "Product tips", default=False),
            many2one("tip_product_id", "product.product", "Tip Product"),
            boolean("limit_categories", "Restrict Categories", default=False),
            many2many(
                "iface_available_categ_ids", "pos.category", "Available PoS Product Categories"
            ),
            boolean("module_pos_hr", "Login with Employees", default=False),
            boolean("module_pos_restaurant", "Is a Bar/Restaurant", default=False),
            boolean("module_pos_discount", "Global Discounts", default=False),
            boolean("iface_cashdrawer", "Cashdrawer", default=False),
            boolean("iface_electronic_scale", "Electronic Scale", default=False),
            boolean("iface_print_via_proxy", "Print via Proxy", default=False),
            boolean("iface_scan_via_proxy", "Scan via Proxy", default=False),
            boolean("iface_big_scrollbars", "Large Scrollbars", default=False),
            boolean("iface_print_auto", "Automatic Receipt Printing", default=False),
            boolean("iface_print_skip_screen", "Skip Preview Screen", default=True),
            boolean("is_header_or_footer", "Custom Header & Footer", default=False),
            text("receipt_header", "Receipt Header"),
            text("receipt_footer", "Receipt Footer"),
            boolean("is_posbox", "PosBox", default=False),
            datetime_field(
                "last_session_closing_date",
                "Last Session Closing Date",
                compute=lambda m, r: None,
            ),
            monetary(
                "last_session_closing_cash", "Last Session Closing Cash", compute=lambda m, r: 0.0
            ),
        ]
        if version == 16:
            fields.append(
                integer(
                    "number_of_opened_session",
                    "Number of Opened Session",
                    compute=lambda m, r: len(_live_sessions(m, r)),
                )
            )
            fields.append(
                boolean("iface_customer_facing_display", "Customer Facing Display", default=False)
            )
        else:
            fields.append(
                integer(
                    "number_of_rescue_session",
                    "Number of Rescue Session",
                    compute=lambda m, r: sum(1 for s in _live_sessions(m, r) if s.get("rescue")),
                )
            )
            fields.append(
                many2many(
                    "trusted_config_ids", "pos.config", "Trusted Point of Sale Configurations"
                )
            )
            fields.append(boolean("ship_later", "Allow Ship Later", default=False))
        return fields

    def _prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        # pos.config.create reads vals['name'] directly before validating (odoo-api.md 5).
        name = vals["name"]
        sequences = self.env["ir.sequence"]
        company = vals.get("company_id") or 1
        vals["sequence_id"] = sequences.create_records(
            [
                {
                    "name": f"POS Order {name}",
                    "padding": 4,
                    "prefix": f"{name}/",
                    "code": "pos.order",
                    "company_id": company,
                }
            ]
        )[0]
        vals["sequence_line_id"] = sequences.create_records(
            [
                {
                    "name": f"POS order line {name}",
                    "padding": 4,
                    "prefix": f"{name}/",
                    "code": "pos.order.line",
                    "company_id": company,
                }
            ]
        )[0]
        vals.setdefault("uuid", str(uuid.uuid4()))
        if "payment_method_ids" not in vals:
            vals["payment_method_ids"] = [(6, 0, self._default_payment_methods(company))]
        return vals

    def _default_payment_methods(self, company_id: int) -> list[int]:
        """Non-cash methods plus one cash method no other register uses (pos.config 17)."""
        methods = self.env["pos.payment.method"]
        eligible = methods.search_ids(
            [("company_id", "=", company_id), ("split_transactions", "=", False)]
        )
        non_cash = [i for i in eligible if not methods.table.rows[i].get("is_cash_count")]
        free_cash = [
            i
            for i in eligible
            if methods.table.rows[i].get("is_cash_count") and not methods.value(i, "config_ids")
        ]
        return non_cash + free_cash[:1]

    def _after_create(self, ids: list[int]) -> None:
        for config_id in ids:
            self._check_config(config_id)

    def _before_write(self, ids: list[int], vals: dict[str, Any]) -> dict[str, Any]:
        for config_id in ids:
            row = self.row(config_id)
            if not _live_sessions(self, row):
                continue
            labels = [
                self.fields[key].string
                for key in _FORBIDDEN_WHILE_OPEN
                if key in vals and self._changes(row, key, vals[key])
            ]
            if labels:
                raise user_error(
                    "Unable to modify this PoS Configuration because you can't modify "
                    f"{', '.join(labels)} while a session is open."
                )
        return vals

    def _changes(self, row: Row, key: str, new_value: Any) -> bool:
        """Odoo drops values equal to the current ones; pricelists only count removals."""
        f = self.fields[key]
        if f.type == "many2many":
            current = set(row.get(key) or [])
            wanted = self._many2many_result(current, new_value)
            if key == "available_pricelist_ids":
                return bool(current - wanted)
            return wanted != current
        if key == "use_pricelist":
            return bool(row.get(key)) and not new_value
        return bool(row.get(key)) != bool(new_value)

    @staticmethod
    def _many2many_result(current: set[int], value: Any) -> set[int]:
        result = set(current)
        if not isinstance(value, list | tuple):
            return set() if not value else result
        if all(isinstance(v, int) for v in value):
            return set(value)
        for command in value:
            code = command[0]
            if code == 6:
                result = set(command[2] or [])
            elif code == 5:
                result = set()
            elif code in (3, 2):
                result.discard(command[1])
            elif code == 4:
                result.add(command[1])
        return result

    def _after_write(self, ids: list[int], vals: dict[str, Any]) -> None:
        if {
            "payment_method_ids",
            "pricelist_id",
            "available_pricelist_ids",
            "use_pricelist",
            "company_id",
        } & set(vals):
            for config_id in ids:
                self._check_config(config_id)

    def _check_config(self, config_id: int) -> None:
        row = self.row(config_id)
        methods = self.env.db.table("pos.payment.method")
        method_ids = row.get("payment_method_ids") or []
        for method_id in method_ids:
            method = methods.rows[method_id]
            if method.get("company_id") != row.get("company_id"):
                raise validation_error(
                    f"The payment methods for the point of sale {row.get('name')} "
                    "must belong to its company."
                )
        for method_id in method_ids:
            method = methods.rows[method_id]
            if not method.get("is_cash_count"):
                continue
            used_elsewhere = any(
                other_id != config_id and method_id in (other.get("payment_method_ids") or [])
                for other_id, other in self.table.rows.items()
            )
            if used_elsewhere:
                raise validation_error(
                    "This cash payment method is already used in another Point of Sale.\n"
                    "A new cash payment method should be created for this Point of Sale."
                )
            journal_id = method.get("journal_id")
            if len(methods.ids_where("journal_id", journal_id)) > 1:
                raise validation_error(
                    "You cannot use the same journal on multiples cash payment methods."
                )
        if row.get("use_pricelist") and row.get("pricelist_id") not in (
            row.get("available_pricelist_ids") or []
        ):
            raise validation_error(
                "The default pricelist must be included in the available pricelists."
            )
