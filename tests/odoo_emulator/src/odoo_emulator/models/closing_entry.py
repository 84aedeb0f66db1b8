"""What a POS session's close books: pos.session._create_account_move and what it calls.

16.0/17.0 (`_accumulate_amounts` + `_prepare_line`): a sales line per income account and tax set
carries the sum of the lines' stored `price_subtotal` (what the client sent); the tax lines carry
`compute_all` of each line's price, quantity, discount and taxes. 18.0 computes both the sales and
the tax amounts from the lines (`_prepare_tax_base_line_values`, `_get_tax_details`), whatever
the client sent. Receivables come from the payments. The entry is planned first so the control
API can show what a close would book without booking it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from odoo_emulator.errors import user_error
from odoo_emulator.models.account import AccountTax, currency_rounding
from odoo_emulator.rounding import (
    float_compare,
    float_is_zero,
    float_round,
    sql_sum,
    stored_amount,
)
from odoo_emulator.store import Row
from odoo_emulator.tax_computation import TaxRule, compute_all, tax_details

if TYPE_CHECKING:
    from odoo_emulator.orm import Model


@dataclass
class EntryLine:
    """One account.move.line of the closing entry; `balance` is debit minus credit."""

    name: str
    account_id: int | None
    balance: float
    display_type: str | None = None
    tax_ids: list[int] = field(default_factory=list)
    tax_repartition_line_id: int | None = None
    tax_base_amount: float = 0.0

    def as_vals(self, move_id: int) -> dict[str, Any]:
        vals: dict[str, Any] = {
            "move_id": move_id,
            "name": self.name,
            "account_id": self.account_id or False,
            "debit": max(self.balance, 0.0),
            "credit": max(-self.balance, 0.0),
            "tax_ids": [(6, 0, self.tax_ids)],
            "tax_repartition_line_id": self.tax_repartition_line_id or False,
            "tax_base_amount": self.tax_base_amount,
        }
        if self.display_type:
            vals["display_type"] = self.display_type
        return vals


@dataclass
class CashStatement:
    """A combined cash statement line: the cash a method took, on its cash journal."""

    journal_id: int
    amount: float
    counterpart_account_id: int | None


@dataclass
class ClosingEntry:
    lines: list[EntryLine] = field(default_factory=list)
    cash_statements: list[CashStatement] = field(default_factory=list)
    payments: dict[int, float] = field(default_factory=dict)

    def balance(self, rounding: float) -> float:
        return sql_sum([stored_amount(line.balance, rounding) for line in self.lines])

    def is_balanced(self, rounding: float) -> bool:
        return float_is_zero(self.balance(rounding), rounding)


@dataclass
class _Amounts:
    amount: float = 0.0
    base: float = 0.0


class _Books:
    """One session's figures, read once: orders, lines, payments, methods and accounts."""

    def __init__(self, session: Model, session_id: int) -> None:
        self.env = session.env
        self.version = session.env.version
        self.session = session.row(session_id)
        self.config = session.env["pos.config"].row(self.session["config_id"])
        self.company = session.env.db.table("res.company").get(self.session.get("company_id") or 1)
        self.rounding = currency_rounding(session.env)
        self._rules: dict[tuple[int, ...], list[TaxRule]] = {}

    def orders(self) -> list[Row]:
        orders = self.env["pos.order"]
        ids = orders.search_ids([("session_id", "=", self.session["id"])])
        rows = [orders.table.rows[i] for i in ids]
        if self.version == 16:
            return rows
        # 17/18 book the session's closed orders (_get_closed_orders).
        return [r for r in rows if r.get("state") not in ("draft", "cancel")]

    def lines(self, order: Row) -> list[Row]:
        table = self.env.db.table("pos.order.line")
        return [table.rows[i] for i in sorted(table.ids_where("order_id", order["id"]))]

    def payments(self, order: Row) -> list[Row]:
        payments = self.env["pos.payment"]
        return [
            payments.table.rows[i]
            for i in payments.search_ids([("pos_order_id", "=", order["id"])])
        ]

    def tax_rules(self, tax_ids: list[int]) -> list[TaxRule]:
        key = tuple(tax_ids)
        if key not in self._rules:
            taxes = self.env["account.tax"]
            assert isinstance(taxes, AccountTax)
            company = (self.company or {}).get("id", 1)
            same_company = [i for i in key if taxes.table.rows[i].get("company_id") == company]
            self._rules[key] = taxes.rules(same_company)
        return self._rules[key]

    def line_tax_ids(self, line: Row) -> list[int]:
        """tax_ids_after_fiscal_position as a many2many reads: archived taxes left out, in
        account.tax's order (sequence, id)."""
        if not line.get("tax_ids"):
            return []
        return self.env["account.tax"].search_ids(
            [("id", "in", list(line["tax_ids"]))], order="sequence,id"
        )

    def income_account(self, line: Row) -> int:
        products = self.env["product.product"]
        product_id = line["product_id"]
        account = products.value(product_id, "property_account_income_id")
        if not account:
            category = products.value(product_id, "categ_id")
            account = self.env["product.category"].value(
                category, "property_account_income_categ_id"
            )
        if not account:
            journal = self.config.get("journal_id")
            account = (
                self.env["account.journal"].value(journal, "default_account_id")
                if journal
                else None
            )
        if not account:
            name = products.value(product_id, "name")
            if self.version == 18:
                raise user_error(
                    f"Please define income account for this product: '{name}' (id:{product_id})."
                )
            raise user_error(
                f'Please define income account for this product: "{name}" (id:{product_id}).'
            )
        result: int = account
        return result

    def method(self, method_id: int) -> Row:
        return self.env["pos.payment.method"].row(method_id)

    def method_type(self, method_id: int) -> str:
        result: str = self.env["pos.payment.method"].value(method_id, "type")
        return result

    def receivable_account(self, method_id: int) -> int | None:
        account: int | None = self.method(method_id).get("receivable_account_id") or (
            self.company or {}
        ).get("account_default_pos_receivable_account_id")
        return account

    def tax_name(self, tax_id: int) -> str:
        name: str = self.env.db.table("account.tax").rows[tax_id].get("name") or ""
        return name


def plan_closing_entry(
    session: Model,
    session_id: int,
    balancing_account: int | None = None,
    amount_to_balance: float = 0.0,
) -> ClosingEntry:
    """The lines `_create_account_move` would create for the session, in Odoo's order."""
    books = _Books(session, session_id)
    rounding = books.rounding
    payments = _Payments.of(books)
    sales: dict[tuple[Any, ...], float] = defaultdict(float)
    taxes: dict[tuple[int, int], _Amounts] = defaultdict(_Amounts)
    rounding_difference = 0.0
    for order in books.orders():
        if order.get("account_move"):
            continue
        if books.version == 18:
            total = _accumulate_order_18(books, order, sales, taxes)
            difference = (order.get("amount_paid") or 0.0) + total
        else:
            _accumulate_order_16(books, order, sales, taxes)
            difference = (order.get("amount_paid") or 0.0) - (order.get("amount_total") or 0.0)
        if books.config.get("cash_rounding"):
            rounding_difference += difference

    entry = ClosingEntry()
    for (account_id, repartition_id), amounts in taxes.items():
        entry.lines.append(
            EntryLine(
                name=_repartition_tax_name(books, repartition_id),
                account_id=account_id,
                balance=amounts.amount,
                display_type="tax",
                tax_repartition_line_id=repartition_id,
                tax_base_amount=abs(amounts.base),
            )
        )
    for key, amount in sales.items():
        entry.lines.append(_sale_line(books, key, amount))
    if books.config.get("cash_rounding") and not float_is_zero(rounding_difference, rounding):
        entry.lines.append(_rounding_line(books, rounding_difference))
    session_name = books.session.get("name") or ""

    def receivable(method_id: int, amount: float) -> EntryLine:
        method_name = books.method(method_id).get("name") or ""
        return EntryLine(
            name=f"{session_name} - {method_name}",
            account_id=books.receivable_account(method_id),
            balance=amount,
            display_type="payment_term" if books.version == 18 else None,
        )

    for method_id, amount in payments.bank.items():
        entry.lines.append(receivable(method_id, amount))
    for method_id, amount in payments.pay_later.items():
        entry.lines.append(receivable(method_id, amount))
    for method_id, amount in payments.cash.items():
        if float_is_zero(amount, rounding):
            continue
        entry.cash_statements.append(
            CashStatement(
                journal_id=books.method(method_id)["journal_id"],
                amount=amount,
                counterpart_account_id=books.receivable_account(method_id),
            )
        )
        entry.lines.append(receivable(method_id, amount))
    for _method_id, amount in payments.invoice_receivables.items():
        entry.lines.append(
            EntryLine(
                name="From invoice payments",
                account_id=(books.company or {}).get("account_default_pos_receivable_account_id"),
                balance=-amount,
                display_type="payment_term" if books.version == 18 else None,
            )
        )
    if balancing_account and amount_to_balance and not float_is_zero(amount_to_balance, rounding):
        entry.lines.append(
            EntryLine(
                name="Difference at closing PoS session",
                account_id=balancing_account,
                balance=-amount_to_balance,
            )
        )
    entry.payments = payments.per_method()
    return entry


@dataclass
class _Payments:
    """The session's payments as the close books them: receivables per method and kind."""

    cash: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    bank: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    pay_later: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    invoice_receivables: dict[int, float] = field(default_factory=lambda: defaultdict(float))

    @classmethod
    def of(cls, books: _Books) -> _Payments:
        result = cls()
        for order in books.orders():
            invoiced = bool(order.get("account_move"))
            for payment in books.payments(order):
                amount = payment.get("amount") or 0.0
                if float_is_zero(amount, books.rounding):
                    continue
                method_id = payment["payment_method_id"]
                kind = books.method_type(method_id)
                # Split transactions book per customer in Odoo; the emulator books them combined.
                if kind == "cash":
                    result.cash[method_id] += amount
                elif kind == "bank":
                    result.bank[method_id] += amount
                if kind != "pay_later" and invoiced:
                    result.invoice_receivables[method_id] += amount
                if kind == "pay_later" and not invoiced:
                    result.pay_later[method_id] += amount
        return result

    def per_method(self) -> dict[int, float]:
        merged: dict[int, float] = {}
        for payments in (self.cash, self.bank, self.pay_later):
            for method_id, amount in payments.items():
                merged[method_id] = merged.get(method_id, 0.0) + amount
        return merged


def plan_payments(session: Model, session_id: int) -> dict[int, float]:
    """The payments per method the session's close books."""
    return _Payments.of(_Books(session, session_id)).per_method()


def _accumulate_order_16(
    books: _Books,
    order: Row,
    sales: dict[tuple[Any, ...], float],
    taxes: dict[tuple[int, int], _Amounts],
) -> None:
    """16/17 `_prepare_line`: the stored subtotal for sales, compute_all for the taxes."""
    for line in books.lines(order):
        qty = line.get("qty") or 0.0
        price_unit = line.get("price_unit") or 0.0
        sign = -1 if qty >= 0 else 1
        price = sign * price_unit * (1 - (line.get("discount") or 0.0) / 100.0)
        is_refund = qty * price_unit < 0
        rules = books.tax_rules(books.line_tax_ids(line))
        computed = compute_all(
            rules, price, abs(qty), books.rounding, is_refund=is_refund, fixed_multiplicator=sign
        )
        income = books.income_account(line)
        amount = line.get("price_subtotal") or 0.0
        sale_key = (
            income,
            -1 if amount < 0 else 1,
            tuple((t.tax.id, t.share.account_id, t.share.line_id) for t in computed.taxes),
        )
        sales[sale_key] += amount
        for tax_line in computed.taxes:
            amounts = taxes[(tax_line.share.account_id or income, tax_line.share.line_id)]
            amounts.amount += tax_line.amount
            amounts.base += tax_line.base


def _accumulate_order_18(
    books: _Books,
    order: Row,
    sales: dict[tuple[Any, ...], float],
    taxes: dict[tuple[int, int], _Amounts],
) -> float:
    """18 `_accumulate_amounts`: sales and taxes from the lines; the order's signed total."""
    is_refund_order = (order.get("amount_total") or 0.0) < 0.0
    sign = 1 if is_refund_order else -1
    total = 0.0
    order_taxes: dict[tuple[int, int], _Amounts] = defaultdict(_Amounts)
    for line in books.lines(order):
        qty = line.get("qty") or 0.0
        price_unit = line.get("price_unit") or 0.0
        quantity = qty * (-1 if is_refund_order else 1)
        is_refund = qty * price_unit < 0
        tax_ids = books.line_tax_ids(line)
        rules = books.tax_rules(tax_ids)
        price_after_discount = price_unit * (1 - (line.get("discount") or 0.0) / 100.0)
        excluded, details = tax_details(rules, price_after_discount, quantity, books.rounding)
        income = books.income_account(line)
        sale_key = (income, -1 if is_refund else 1, tuple(tax_ids))
        sales[sale_key] += sign * excluded
        total += sign * excluded
        for rule, tax_amount, base_amount in details:
            shares = rule.shares(is_refund)
            for share, share_amount in zip(
                shares, _spread_18(tax_amount, shares, books.rounding), strict=True
            ):
                amounts = order_taxes[(share.account_id or income, share.line_id)]
                amounts.amount += sign * share_amount
                amounts.base += sign * base_amount
                total += sign * share_amount
    for key, amounts in order_taxes.items():
        # _prepare_tax_lines drops the tax lines that come to nothing (a 0% tax).
        if float_is_zero(amounts.amount, books.rounding):
            continue
        taxes[key].amount += amounts.amount
        taxes[key].base += amounts.base
    return total


def _spread_18(amount: float, shares: Any, rounding: float) -> list[float]:
    """18 `_add_accounting_data_to_base_line_tax_details`: per share, delta to the biggest first."""
    amounts = [float_round(amount * share.factor, rounding) for share in shares]
    delta = float_round(amount - sum(amounts), rounding)
    if amounts and not float_is_zero(delta, rounding):
        biggest = max(range(len(amounts)), key=lambda i: abs(amounts[i]))
        amounts[biggest] += delta
    return amounts


def _repartition_tax_name(books: _Books, repartition_id: int) -> str:
    tax_id = books.env["account.tax.repartition.line"].value(repartition_id, "tax_id")
    return books.tax_name(tax_id) if tax_id else ""


def _sale_line(books: _Books, key: tuple[Any, ...], amount: float) -> EntryLine:
    account_id, sign, tax_part = key
    # 18 keys sales by the line's taxes; 16/17 by (tax, account, repartition line) triples.
    tax_ids = list(tax_part) if books.version == 18 else sorted({e[0] for e in tax_part})
    title = "Sales" if sign == 1 else "Refund"
    names = ", ".join(books.tax_name(i) for i in tax_ids)
    if not tax_ids:
        name = f"{title} untaxed"
    elif books.version == 18:
        # The closing entry is not per product, so the product's place in the label stays empty.
        name = f"{title}  with {names}"
    else:
        name = f"{title} with {names}"
    # 16/17 credit the stored subtotals; 18 books the signed amounts as they are.
    balance = amount if books.version == 18 else -amount
    return EntryLine(
        name=name,
        account_id=account_id,
        balance=balance,
        display_type="product" if books.version == 18 else None,
        tax_ids=tax_ids,
    )


def _rounding_line(books: _Books, amount: float) -> EntryLine:
    method = (
        books.env.db.table("account.cash.rounding").get(books.config.get("rounding_method")) or {}
    )
    if float_compare(0.0, amount, books.rounding) > 0:
        return EntryLine(
            name="Rounding line", account_id=method.get("loss_account_id"), balance=-amount
        )
    return EntryLine(
        name="Rounding line", account_id=method.get("profit_account_id"), balance=-amount
    )


# ---------------------------------------------------------------------------- inspection


def summarize(
    env_session: Model,
    lines: list[EntryLine],
    statements: list[dict[str, Any]],
    payments: dict[int, float],
) -> dict[str, Any]:
    """The books as the control API shows them: taxes, sales, payments, cash statement lines."""
    env = env_session.env
    rounding = currency_rounding(env)
    repartition = env["account.tax.repartition.line"]
    per_tax: dict[int, dict[str, Any]] = {}
    sales = []
    for line in lines:
        balance = stored_amount(line.balance, rounding)
        if line.tax_repartition_line_id:
            tax_id = repartition.value(line.tax_repartition_line_id, "tax_id")
            tax = env["account.tax"].row(tax_id)
            entry = per_tax.setdefault(
                tax_id,
                {
                    "tax_id": tax_id,
                    "name": tax.get("name") or "",
                    "amount": float(tax.get("amount") or 0.0),
                    "price_include": bool(env["account.tax"].raw(tax, "price_include")),
                    "base": 0.0,
                    "tax": 0.0,
                },
            )
            side = -1 if balance > 0 else 1
            if not balance:
                side = -1 if _is_refund_share(env_session, line.tax_repartition_line_id) else 1
            entry["tax"] = stored_amount(entry["tax"] - balance, rounding)
            entry["base"] = stored_amount(
                entry["base"] + side * stored_amount(line.tax_base_amount, rounding), rounding
            )
        elif line.name.startswith(("Sales", "Refund")):
            sales.append(
                {"account_id": line.account_id, "tax_ids": sorted(line.tax_ids), "amount": -balance}
            )
    return {
        "taxes": list(per_tax.values()),
        "sales": sales,
        "payments": [
            {"payment_method_id": method_id, "amount": stored_amount(amount, rounding)}
            for method_id, amount in payments.items()
        ],
        "cash_statement_lines": statements,
        "balanced": float_is_zero(
            sql_sum([stored_amount(x.balance, rounding) for x in lines]), rounding
        ),
    }


def _is_refund_share(model: Model, repartition_id: int) -> bool:
    row = model.env["account.tax.repartition.line"].row(repartition_id)
    return bool(row.get("refund_tax_id") or row.get("document_type") == "refund")
