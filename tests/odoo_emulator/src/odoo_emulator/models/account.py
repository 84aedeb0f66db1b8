"""What a POS session books into: accounts, taxes, journals, entries and cash statement lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from odoo_emulator.errors import user_error
from odoo_emulator.orm import (
    Env,
    Field,
    Model,
    boolean,
    char,
    date_field,
    floating,
    integer,
    many2many,
    many2one,
    monetary,
    one2many,
    selection,
)
from odoo_emulator.rounding import stored_amount
from odoo_emulator.store import Row
from odoo_emulator.tax_computation import RepartitionShare, TaxRule

ACCOUNT_TYPES = (
    ("asset_receivable", "Receivable"),
    ("asset_cash", "Bank and Cash"),
    ("asset_current", "Current Assets"),
    ("asset_non_current", "Non-current Assets"),
    ("asset_prepayments", "Prepayments"),
    ("asset_fixed", "Fixed Assets"),
    ("liability_payable", "Payable"),
    ("liability_credit_card", "Credit Card"),
    ("liability_current", "Current Liabilities"),
    ("liability_non_current", "Non-current Liabilities"),
    ("equity", "Equity"),
    ("equity_unaffected", "Current Year Earnings"),
    ("income", "Income"),
    ("income_other", "Other Income"),
    ("expense", "Expenses"),
    ("expense_depreciation", "Depreciation"),
    ("expense_direct_cost", "Cost of Revenue"),
    ("off_balance", "Off-Balance Sheet"),
)
# Where a journal created without a default account gets one (the generic chart's prefixes).
_LIQUIDITY_CODE_PREFIX = {"cash": "1015", "bank": "1014"}


def _company(model: Model) -> int:
    return 1


def currency_rounding(env: Env) -> float:
    """The rounding of the company currency, which every amount of the books is rounded to."""
    company = env.db.table("res.company").get(1) or {}
    currency = env.db.table("res.currency").get(company.get("currency_id")) or {}
    rounding: float = currency.get("rounding") or 0.01
    return rounding


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


class AccountAccount(Model):
    _name = "account.account"
    _description = "Account"
    _order = "code"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        fields = [
            char("name", "Account Name", required=True, index=True),
            char("code", "Code", required=True, index=True),
            selection("account_type", "Type", ACCOUNT_TYPES, required=True),
            boolean("reconcile", "Allow Reconciliation", default=False),
            boolean("deprecated", "Deprecated", default=False),
            many2one("currency_id", "res.currency", "Account Currency"),
        ]
        if version == 18:
            # 18 shares an account between companies (account.account.company_ids).
            fields.append(
                many2many(
                    "company_ids", "res.company", "Companies", default=lambda m: [(6, 0, [1])]
                )
            )
        else:
            fields.append(
                many2one("company_id", "res.company", "Company", required=True, default=_company)
            )
        return fields

    def display_name_of(self, row: Row) -> str:
        return f"{row.get('code') or ''} {row.get('name') or ''}".strip()

    def new_code(self, prefix: str) -> str:
        """_search_new_account_code: the prefix padded to six digits, the first free one."""
        used = {row.get("code") for row in self.table.rows.values()}
        for number in range(1, 100):
            code = f"{prefix}{str(number).zfill(6 - len(prefix))}"
            if code not in used:
                return code
        raise user_error(f"Cannot generate an unused account code for prefix {prefix}.")


def _price_include_18(model: Model, row: Row) -> bool:
    """18: price_include is computed from the tax's override or the company's default."""
    override = row.get("price_include_override")
    if override:
        return bool(override == "tax_included")
    company = model.env.db.table("res.company").get(row.get("company_id")) or {}
    return bool(company.get("account_price_include") == "tax_included")


def _repartition_of(document_type: str) -> Any:
    def lines(model: Model, row: Row) -> list[int]:
        table = model.env.db.table("account.tax.repartition.line")
        return sorted(
            i
            for i in table.ids_where("tax_id", row["id"])
            if table.rows[i].get("document_type") == document_type
        )

    return lines


class AccountTax(Model):
    _name = "account.tax"
    _description = "Tax"
    _order = "sequence,id"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        fields = [
            char("name", "Tax Name", required=True),
            integer("sequence", "Sequence", default=1),
            floating("amount", "Amount", required=True, default=0.0),
            selection(
                "amount_type",
                "Tax Computation",
                [
                    ("group", "Group of Taxes"),
                    ("fixed", "Fixed"),
                    ("percent", "Percentage of Price"),
                    ("division", "Percentage of Price Tax Included"),
                ],
                required=True,
                default="percent",
            ),
            selection(
                "type_tax_use",
                "Tax Type",
                [("sale", "Sales"), ("purchase", "Purchases"), ("none", "None")],
                required=True,
                default="sale",
            ),
            many2one("company_id", "res.company", "Company", required=True, default=_company),
            boolean("active", "Active", default=True),
        ]
        if version == 18:
            fields += [
                selection(
                    "price_include_override",
                    "Included in Price",
                    [("tax_included", "Tax Included"), ("tax_excluded", "Tax Excluded")],
                ),
                boolean("price_include", "Included in Price", compute=_price_include_18),
                selection(
                    "company_price_include",
                    "Default Sales Price Include",
                    [("tax_included", "Tax Included"), ("tax_excluded", "Tax Excluded")],
                    compute=lambda m, r: (
                        m.env.db.table("res.company").get(r.get("company_id")) or {}
                    ).get("account_price_include"),
                ),
            ]
        else:
            fields.append(boolean("price_include", "Included in Price", default=False))
        if version == 16:
            fields += [
                one2many(
                    "invoice_repartition_line_ids",
                    "account.tax.repartition.line",
                    "invoice_tax_id",
                    "Distribution for Invoices",
                ),
                one2many(
                    "refund_repartition_line_ids",
                    "account.tax.repartition.line",
                    "refund_tax_id",
                    "Distribution for Refund Invoices",
                ),
            ]
        else:
            fields += [
                one2many(
                    "repartition_line_ids",
                    "account.tax.repartition.line",
                    "tax_id",
                    "Distribution",
                ),
                one2many(
                    "invoice_repartition_line_ids",
                    "account.tax.repartition.line",
                    "tax_id",
                    "Distribution for Invoices",
                    compute=_repartition_of("invoice"),
                ),
                one2many(
                    "refund_repartition_line_ids",
                    "account.tax.repartition.line",
                    "tax_id",
                    "Distribution for Refund Invoices",
                    compute=_repartition_of("refund"),
                ),
            ]
        return fields

    def _compile_leaf(self, leaf: Any) -> Any:
        # 18's _search_price_include translates only boolean values into a domain.
        if (
            self.env.version == 18
            and isinstance(leaf, list | tuple)
            and len(leaf) == 3
            and leaf[0] == "price_include"
            and not isinstance(leaf[2], bool)
        ):
            raise NotImplementedError()
        return super()._compile_leaf(leaf)

    def _prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        if self.env.version != 16:
            # 17/18 keep every line in repartition_line_ids, typed by document_type.
            commands = list(vals.pop("repartition_line_ids", None) or [])
            for document_type in ("invoice", "refund"):
                for command in vals.pop(f"{document_type}_repartition_line_ids", None) or []:
                    if command[0] == 0:
                        commands.append((0, 0, {"document_type": document_type, **command[2]}))
            if commands:
                vals["repartition_line_ids"] = commands
        return vals

    def _after_create(self, ids: list[int]) -> None:
        lines = self.env["account.tax.repartition.line"]
        for tax_id in ids:
            for document_type in ("invoice", "refund"):
                if self._repartition_ids(tax_id, document_type):
                    continue
                # Odoo's default distribution: one base line and one tax line, no account.
                lines.create_records(
                    [
                        {**self._repartition_link(tax_id, document_type), "repartition_type": kind}
                        for kind in ("base", "tax")
                    ]
                )

    def _repartition_link(self, tax_id: int, document_type: str) -> dict[str, Any]:
        if self.env.version == 16:
            return {f"{document_type}_tax_id": tax_id}
        return {"tax_id": tax_id, "document_type": document_type}

    def _repartition_ids(self, tax_id: int, document_type: str) -> list[int]:
        table = self.env.db.table("account.tax.repartition.line")
        if self.env.version == 16:
            return sorted(table.ids_where(f"{document_type}_tax_id", tax_id))
        return sorted(
            i
            for i in table.ids_where("tax_id", tax_id)
            if table.rows[i].get("document_type") == document_type
        )

    def rules(self, tax_ids: list[int]) -> list[TaxRule]:
        """The taxes as the computation reads them, with their `tax` repartition shares."""
        lines = self.env.db.table("account.tax.repartition.line")
        result = []
        for tax_id in tax_ids:
            row = self.row(tax_id)
            shares: dict[str, tuple[RepartitionShare, ...]] = {}
            for document_type in ("invoice", "refund"):
                ordered = sorted(
                    (lines.rows[i] for i in self._repartition_ids(tax_id, document_type)),
                    key=lambda line: (line.get("sequence") or 0, line["id"]),
                )
                shares[document_type] = tuple(
                    RepartitionShare(
                        line["id"],
                        (line.get("factor_percent") or 0.0) / 100,
                        line.get("account_id"),
                    )
                    for line in ordered
                    if line.get("repartition_type") == "tax"
                )
            result.append(
                TaxRule(
                    id=tax_id,
                    name=row.get("name") or "",
                    amount=float(row.get("amount") or 0.0),
                    amount_type=row.get("amount_type") or "percent",
                    price_include=bool(self.raw(row, "price_include")),
                    sequence=int(row.get("sequence") or 0),
                    invoice_shares=shares["invoice"],
                    refund_shares=shares["refund"],
                )
            )
        return result


def _repartition_tax(model: Model, row: Row) -> int | None:
    tax: int | None = row.get("invoice_tax_id") or row.get("refund_tax_id")
    return tax


class AccountTaxRepartitionLine(Model):
    _name = "account.tax.repartition.line"
    _description = "Tax Repartition Line"
    _order = "sequence, repartition_type, id"
    _rec_name = None

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        fields = [
            floating("factor_percent", "%", required=True, default=100.0),
            floating(
                "factor",
                "Factor Ratio",
                compute=lambda m, r: (r.get("factor_percent") or 0.0) / 100,
            ),
            selection(
                "repartition_type",
                "Based On",
                [("base", "Base"), ("tax", "of tax")],
                required=True,
                default="tax",
            ),
            many2one("account_id", "account.account", "Account"),
            many2one("company_id", "res.company", "Company", default=_company),
            integer("sequence", "Sequence", default=1),
            boolean("use_in_tax_closing", "Tax Closing Entry", default=True),
        ]
        if version == 16:
            fields += [
                many2one(
                    "invoice_tax_id", "account.tax", "Invoice Tax", index=True, ondelete="cascade"
                ),
                many2one(
                    "refund_tax_id", "account.tax", "Refund Tax", index=True, ondelete="cascade"
                ),
                many2one("tax_id", "account.tax", "Tax", compute=_repartition_tax),
            ]
        else:
            fields += [
                many2one("tax_id", "account.tax", "Tax", index=True, ondelete="cascade"),
                selection(
                    "document_type",
                    "Related to",
                    [("invoice", "Invoice"), ("refund", "Refund")],
                    required=True,
                ),
            ]
        return fields


class AccountJournal(Model):
    _name = "account.journal"
    _description = "Journal"
    _order = "sequence, type, code"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Journal Name", required=True),
            char("code", "Short Code", required=True),
            integer("sequence", "Sequence", default=10),
            selection(
                "type",
                "Type",
                [
                    ("sale", "Sales"),
                    ("purchase", "Purchase"),
                    ("cash", "Cash"),
                    ("bank", "Bank"),
                    ("general", "Miscellaneous"),
                ],
                required=True,
            ),
            many2one(
                "company_id", "res.company", "Company", required=True, default=_company, index=True
            ),
            many2one("currency_id", "res.currency", "Currency"),
            many2one("default_account_id", "account.account", "Default Account"),
            many2one("suspense_account_id", "account.account", "Suspense Account"),
            many2one("profit_account_id", "account.account", "Profit Account"),
            many2one("loss_account_id", "account.account", "Loss Account"),
            one2many(
                "pos_payment_method_ids",
                "pos.payment.method",
                "journal_id",
                "Point of Sale Payment Methods",
            ),
            boolean("active", "Active", default=True),
        ]

    def _prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        # account.journal._fill_missing_values: a liquidity journal gets its own account, the
        # company's suspense account and the company's cash difference accounts.
        journal_type = vals.get("type")
        if journal_type not in ("cash", "bank"):
            return vals
        company = self.env.db.table("res.company").get(vals.get("company_id") or 1) or {}
        if "default_account_id" not in vals:
            accounts = self.env["account.account"]
            assert isinstance(accounts, AccountAccount)
            vals["default_account_id"] = accounts.create_records(
                [
                    {
                        "name": vals.get("name") or journal_type,
                        "code": accounts.new_code(_LIQUIDITY_CODE_PREFIX[journal_type]),
                        "account_type": "asset_cash",
                    }
                ]
            )[0]
        defaults = {
            "suspense_account_id": "account_journal_suspense_account_id",
            "profit_account_id": "default_cash_difference_income_account_id",
            "loss_account_id": "default_cash_difference_expense_account_id",
        }
        for field_name, company_field in defaults.items():
            if field_name not in vals:
                vals[field_name] = company.get(company_field) or False
        return vals


class AccountMove(Model):
    _name = "account.move"
    _description = "Journal Entry"
    _order = "date desc, name desc, id desc"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Number", default="/"),
            date_field("date", "Date", required=True, default=lambda m: today()),
            char("ref", "Reference"),
            selection(
                "move_type",
                "Type",
                [
                    ("entry", "Journal Entry"),
                    ("out_invoice", "Customer Invoice"),
                    ("out_refund", "Customer Credit Note"),
                ],
                required=True,
                default="entry",
            ),
            selection(
                "state",
                "Status",
                [("draft", "Draft"), ("posted", "Posted"), ("cancel", "Cancelled")],
                required=True,
                default="draft",
            ),
            many2one("partner_id", "res.partner", "Partner"),
            many2one("journal_id", "account.journal", "Journal", required=True, index=True),
            many2one("company_id", "res.company", "Company", default=_company),
            many2one("currency_id", "res.currency", "Currency"),
            monetary("amount_total", "Total"),
            char("invoice_origin", "Origin"),
            one2many("line_ids", "account.move.line", "move_id", "Journal Items"),
            one2many("pos_order_ids", "pos.order", "account_move", "POS Orders"),
        ]

    def post(self, move_id: int) -> None:
        """action_post: the entry gets the next number of its journal and year."""
        row = self.row(move_id)
        values: dict[str, Any] = {"state": "posted"}
        if (row.get("name") or "/") == "/":
            journal = self.env["account.journal"].row(row["journal_id"])
            prefix = f"{journal.get('code')}/{(row.get('date') or today())[:4]}/"
            # The sequence mixin continues from the highest number posted, so numbers of a
            # rolled-back close are given again.
            numbers = [
                int(name[len(prefix) :])
                for other in self.table.ids_where("journal_id", row["journal_id"])
                if (name := self.table.rows[other].get("name") or "").startswith(prefix)
                and name[len(prefix) :].isdigit()
            ]
            values["name"] = f"{prefix}{str(max(numbers, default=0) + 1).zfill(5)}"
        self.write_records([move_id], values)


def _line_display_type(model: Model, row: Row) -> str:
    account = model.env.db.table("account.account").get(row.get("account_id")) or {}
    if row.get("tax_repartition_line_id"):
        return "tax"
    if account.get("account_type") in ("asset_receivable", "liability_payable"):
        return "payment_term"
    return "product"


def _line_tax(model: Model, row: Row) -> int | None:
    repartition = model.env["account.tax.repartition.line"]
    line_id = row.get("tax_repartition_line_id")
    if not line_id or not repartition.exists_id(line_id):
        return None
    tax: int | None = repartition.value(line_id, "tax_id")
    return tax


def _move_value(name: str) -> Any:
    return lambda m, r: m.env["account.move"].value(r["move_id"], name)


class AccountMoveLine(Model):
    _name = "account.move.line"
    _description = "Journal Item"
    _order = "date desc, move_name desc, id"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            many2one(
                "move_id",
                "account.move",
                "Journal Entry",
                required=True,
                index=True,
                ondelete="cascade",
            ),
            char("move_name", "Number", compute=_move_value("name")),
            char("name", "Label"),
            many2one("account_id", "account.account", "Account", required=True, index=True),
            monetary("debit", "Debit", default=0.0),
            monetary("credit", "Credit", default=0.0),
            monetary("balance", "Balance", default=0.0),
            monetary("amount_currency", "Amount in Currency", default=0.0),
            many2one("currency_id", "res.currency", "Currency"),
            many2one("partner_id", "res.partner", "Partner"),
            many2one("product_id", "product.product", "Product"),
            floating("quantity", "Quantity"),
            many2many("tax_ids", "account.tax", "Taxes"),
            many2one(
                "tax_repartition_line_id",
                "account.tax.repartition.line",
                "Originator Tax Distribution Line",
            ),
            many2one("tax_line_id", "account.tax", "Originator Tax", compute=_line_tax),
            monetary("tax_base_amount", "Base Amount", default=0.0),
            selection(
                "display_type",
                "Display Type",
                [
                    ("product", "Product"),
                    ("cogs", "Cost of Goods Sold"),
                    ("tax", "Tax"),
                    ("rounding", "Rounding"),
                    ("payment_term", "Payment Term"),
                    ("line_section", "Section"),
                    ("line_note", "Note"),
                    ("epd", "Early Payment Discount"),
                ],
            ),
            many2one("journal_id", "account.journal", "Journal", compute=_move_value("journal_id")),
            date_field("date", "Date", compute=_move_value("date")),
            selection(
                "parent_state",
                "Status",
                [("draft", "Draft"), ("posted", "Posted"), ("cancel", "Cancelled")],
                compute=_move_value("state"),
            ),
            char("ref", "Reference", compute=_move_value("ref")),
            many2one("company_id", "res.company", "Company", default=_company),
        ]

    def _prepare_create(self, vals: dict[str, Any]) -> dict[str, Any]:
        # Monetary columns are stored at the currency's precision; balance = debit - credit.
        rounding = currency_rounding(self.env)
        debit = stored_amount(float(vals.get("debit") or 0.0), rounding)
        credit = stored_amount(float(vals.get("credit") or 0.0), rounding)
        vals["debit"], vals["credit"] = debit, credit
        vals["balance"] = stored_amount(debit - credit, rounding)
        vals.setdefault("amount_currency", vals["balance"])
        vals.setdefault("tax_base_amount", 0.0)
        vals["tax_base_amount"] = stored_amount(float(vals["tax_base_amount"] or 0.0), rounding)
        if not vals.get("display_type"):
            vals["display_type"] = _line_display_type(self, vals)
        company = self.env.db.table("res.company").get(1) or {}
        vals.setdefault("currency_id", company.get("currency_id") or False)
        return vals


class AccountBankStatementLine(Model):
    _name = "account.bank.statement.line"
    _description = "Bank Statement Line"
    _order = "date desc, sequence, id desc"
    _rec_name = "payment_ref"
    _inherits = {"account.move": "move_id"}  # noqa: RUF012

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            many2one(
                "move_id",
                "account.move",
                "Journal Entry",
                required=True,
                index=True,
                ondelete="cascade",
            ),
            integer("sequence", "Sequence", default=1),
            char("payment_ref", "Label"),
            monetary("amount", "Amount"),
            many2one("pos_session_id", "pos.session", "Session", index=True),
        ]

    def create_records(self, vals_list: Sequence[dict[str, Any]]) -> list[int]:
        # `counterpart_account_id` is not a field: create() pops it to pick the line's account.
        counterparts = []
        cleaned = []
        for vals in vals_list:
            vals = dict(vals)
            counterparts.append(vals.pop("counterpart_account_id", None))
            vals["move_type"] = "entry"
            if isinstance(vals.get("amount"), int | float):
                vals["amount"] = stored_amount(float(vals["amount"]), currency_rounding(self.env))
            cleaned.append(vals)
        ids = super().create_records(cleaned)
        moves = self.env["account.move"]
        assert isinstance(moves, AccountMove)
        for statement_line_id, counterpart in zip(ids, counterparts, strict=True):
            self._create_move_lines(statement_line_id, counterpart)
            moves.post(self.row(statement_line_id)["move_id"])
        return ids

    def _create_move_lines(self, statement_line_id: int, counterpart: int | None) -> None:
        """_prepare_move_line_default_vals: the liquidity line and its counterpart."""
        row = self.row(statement_line_id)
        move_id = row["move_id"]
        journal = self.env["account.journal"].row(
            self.env["account.move"].value(move_id, "journal_id")
        )
        account = counterpart or journal.get("suspense_account_id")
        if not account:
            raise user_error(
                "You can't create a new statement line without a suspense account set on the "
                f"{journal.get('name')} journal."
            )
        amount = row.get("amount") or 0.0
        label = row.get("payment_ref") or ""
        partner = self.env["account.move"].value(move_id, "partner_id") or False
        self.env["account.move.line"].create_records(
            [
                {
                    "move_id": move_id,
                    "name": label,
                    "account_id": journal.get("default_account_id") or False,
                    "debit": max(amount, 0.0),
                    "credit": max(-amount, 0.0),
                    "partner_id": partner,
                },
                {
                    "move_id": move_id,
                    "name": label,
                    "account_id": account,
                    "debit": max(-amount, 0.0),
                    "credit": max(amount, 0.0),
                    "partner_id": partner,
                },
            ]
        )

    def counterpart_account(self, statement_line_id: int) -> int | None:
        """The account the statement line was booked against (its non-liquidity line)."""
        row = self.row(statement_line_id)
        journal_id = self.env["account.move"].value(row["move_id"], "journal_id")
        liquidity = self.env["account.journal"].value(journal_id, "default_account_id")
        lines = self.env.db.table("account.move.line")
        for line_id in sorted(lines.ids_where("move_id", row["move_id"])):
            account: int | None = lines.rows[line_id].get("account_id")
            if account != liquidity:
                return account
        return None


class AccountFiscalPosition(Model):
    _name = "account.fiscal.position"
    _description = "Fiscal Position"
    _order = "sequence"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Fiscal Position", required=True),
            integer("sequence", "Sequence", default=10),
            many2one("company_id", "res.company", "Company", required=True, default=_company),
            boolean("active", "Active", default=True),
        ]


class AccountCashRounding(Model):
    _name = "account.cash.rounding"
    _description = "Account Cash Rounding"

    @classmethod
    def declare_fields(cls, version: int) -> list[Field]:
        return [
            char("name", "Name", required=True),
            floating("rounding", "Rounding Precision", required=True, default=0.01),
            selection(
                "strategy",
                "Rounding Strategy",
                [("biggest_tax", "Modify tax amount"), ("add_invoice_line", "Add a rounding line")],
                required=True,
                default="add_invoice_line",
            ),
            selection(
                "rounding_method",
                "Rounding Method",
                [("UP", "Up"), ("DOWN", "Down"), ("HALF-UP", "Half-Up")],
                required=True,
                default="HALF-UP",
            ),
            many2one("profit_account_id", "account.account", "Profit Account"),
            many2one("loss_account_id", "account.account", "Loss Account"),
        ]
