"""What a session's close books (odoo-api.md 4.5), checked against figures computed here, apart
from the emulator's code, the way each version's source computes them."""
# The emulator serves from its own thread, so blocking clients in these async tests cannot stall it.

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from emulator_scenarios import EmulatorUnderTest, OdooRpc, RpcError

OPENING_FLOAT = 100.0
CENT = Decimal("0.01")
# The demo sale taxes: rate and whether prices include them.
TAXES = {
    "15%": (Decimal(15), False),
    "10% incl.": (Decimal(10), True),
    "10%": (Decimal(10), False),
    "20%": (Decimal(20), False),
    "20% incl.": (Decimal(20), True),
    "5.5%": (Decimal("5.5"), False),
    "0%": (Decimal(0), False),
}
LOSS_TEXT = (
    "Please go on the Cash journal and define a Loss Account. This account will be used to "
    "record cash difference."
)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Sold:
    """One order line: product, quantity, unit price, the tax's demo name, discount percent."""

    product_id: int
    qty: str
    price: str
    tax: str
    discount: str = "0"

    def figures(self, version: int) -> tuple[Decimal, Decimal]:
        """(untaxed, tax) of the line: the price after discount times the quantity, rounded once;
        an included tax's base is rounded first in 16/17 and its tax first in 18."""
        rate, included = TAXES[self.tax]
        qty = Decimal(self.qty)
        unit = Decimal(self.price) * (1 - Decimal(self.discount) / 100)
        gross = _cents(unit * abs(qty))
        if not included:
            untaxed, tax = gross, _cents(gross * rate / 100)
        elif version == 18:
            tax = _cents(gross * rate / (100 + rate))
            untaxed = gross - tax
        else:
            untaxed = _cents(gross * 100 / (100 + rate))
            tax = gross - untaxed
        sign = -1 if qty < 0 else 1
        return sign * untaxed, sign * tax


def _order(
    emu: EmulatorUnderTest,
    session_id: int,
    name: str,
    lines: list[Sold],
    payments: list[tuple[int, float]],
    **kwargs: Any,
) -> dict[str, Any]:
    """An order whose lines, taxes and totals agree as Odoo computes them."""
    payload = emu.order(
        session_id,
        name,
        lines=[(s.product_id, float(s.qty), float(s.price)) for s in lines],
        payments=payments,
        **kwargs,
    )
    body = payload if emu.version == 18 else payload["data"]
    untaxed_total = tax_total = Decimal(0)
    for line, sold in zip(body["lines"], lines, strict=True):
        untaxed, tax = sold.figures(emu.version)
        untaxed_total += untaxed
        tax_total += tax
        line[2].update(
            discount=float(sold.discount),
            tax_ids=[[6, False, [emu.seed["sale_tax_ids"][sold.tax]]]],
            price_subtotal=float(untaxed),
            price_subtotal_incl=float(untaxed + tax),
        )
    body["amount_tax"] = float(tax_total)
    body["amount_total"] = float(untaxed_total + tax_total)
    return payload


def _expected_taxes(version: int, sold: list[Sold]) -> dict[str, tuple[Decimal, Decimal]]:
    """Net base and tax per tax, refunds taken off; a 0% tax books no line in 18."""
    per_tax: dict[str, tuple[Decimal, Decimal]] = {}
    for line in sold:
        untaxed, tax = line.figures(version)
        base_so_far, tax_so_far = per_tax.get(line.tax, (Decimal(0), Decimal(0)))
        per_tax[line.tax] = (base_so_far + untaxed, tax_so_far + tax)
    if version == 18:
        per_tax.pop("0%", None)
    return per_tax


def _booked_taxes(books: dict[str, Any]) -> dict[str, tuple[Decimal, Decimal]]:
    return {
        t["name"]: (_cents(Decimal(repr(t["base"]))), _cents(Decimal(repr(t["tax"]))))
        for t in books["taxes"]
    }


def _accountant(emu: EmulatorUnderTest) -> OdooRpc:
    admin = emu.seed["users"][0]
    return emu.rpc_as(admin["uid"], admin["api_key"])


def _close_from_ui(emu: EmulatorUnderTest, session_id: int, counted: float) -> Any:
    """The POS UI's closing: count, move to closing control, close."""
    assert emu.rpc.execute("pos.session", "post_closing_cash_details", [session_id], counted) == {
        "successful": True
    }
    assert (
        emu.rpc.execute("pos.session", "update_closing_control_state_session", [session_id], "")
        is None
    )
    return emu.rpc.execute("pos.session", "close_session_from_ui", [session_id])


def _session(emu: EmulatorUnderTest, session_id: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = emu.rpc.execute(
        "pos.session",
        "read",
        [session_id],
        [
            "state",
            "move_id",
            "cash_register_balance_start",
            "cash_register_balance_end",
            "cash_register_balance_end_real",
            "cash_register_difference",
            "statement_line_ids",
        ],
    )
    return rows[0]


def _differences(books: dict[str, Any], moment: str) -> list[dict[str, Any]]:
    return [
        line
        for line in books["cash_statement_lines"]
        if line["payment_ref"].startswith("Cash difference")
        and line["payment_ref"].endswith(f" - {moment}")
    ]


async def _sell_coffee_for_cash(emu: EmulatorUnderTest, session_id: int) -> float:
    cash = emu.seed["cash_payment_method_id"]
    sold = [Sold(1, "2", "3.50", "10% incl.")]
    emu.rpc.push([_order(emu, session_id, "Order 1", sold, [(cash, 7.0)])])
    return 7.0


# ---------------------------------------------------------------- a day at the till


async def test_a_day_of_cash_and_card_sales_with_a_cash_refund_books_the_lines_taxes(
    emu: EmulatorUnderTest,
) -> None:
    cash, card = emu.seed["cash_payment_method_id"], emu.seed["card_payment_method_id"]
    session_id = emu.rpc.open_session(opening_cash=OPENING_FLOAT)
    by_cash = [Sold(1, "2", "2.30", "10% incl."), Sold(4, "2", "5.50", "20%")]
    by_card = [Sold(2, "3", "3.20", "5.5%", discount="10"), Sold(3, "1", "1.80", "0%")]
    cash_total = float(sum(sum(s.figures(emu.version)) for s in by_cash))
    card_total = float(sum(sum(s.figures(emu.version)) for s in by_card))
    emu.rpc.push(
        [
            _order(emu, session_id, "Order 1", by_cash, [(cash, cash_total)]),
            _order(emu, session_id, "Order 2", by_card, [(card, card_total)]),
        ]
    )
    original_line = next(
        line
        for line in await emu.control.records("demo", "pos.order.line")
        if line["product_id"] == 4
    )
    refunded = [Sold(4, "-1", "5.50", "20%")]
    refund_total = float(sum(sum(s.figures(emu.version)) for s in refunded))
    emu.rpc.push(
        [
            _order(
                emu,
                session_id,
                "Order 3",
                refunded,
                [(cash, refund_total)],
                refunded_line_ids=[original_line["id"]],
            )
        ]
    )
    expected_cash = OPENING_FLOAT + cash_total + refund_total

    assert _close_from_ui(emu, session_id, expected_cash) == {"successful": True}

    books = await emu.control.session_books("demo", session_id)
    assert books["state"] == "closed"
    assert books["balanced"] is True
    assert books["cash_register_balance_start"] == OPENING_FLOAT
    assert books["cash_register_balance_end"] == pytest.approx(expected_cash)
    assert books["cash_register_difference"] == 0.0
    assert _differences(books, "closing") == []
    assert _booked_taxes(books) == _expected_taxes(emu.version, by_cash + by_card + refunded)
    assert {p["payment_method_id"]: p["amount"] for p in books["payments"]} == {
        cash: pytest.approx(cash_total + refund_total),
        card: pytest.approx(card_total),
    }
    assert {o["state"] for o in await emu.control.records("demo", "pos.order")} == {"done"}

    # The same books through Odoo's own API: a posted entry whose items balance.
    session = _session(emu, session_id)
    move_id = session["move_id"][0]
    assert books["move_id"] == move_id
    [move] = emu.rpc.execute("account.move", "read", [move_id], ["state", "journal_id", "ref"])
    assert move["state"] == "posted"
    assert move["journal_id"][0] == emu.seed["pos_journal_id"]
    assert move["ref"] == "POS/00001"
    items = emu.rpc.execute(
        "account.move.line",
        "search_read",
        [["move_id", "=", move_id]],
        fields=["debit", "credit", "tax_line_id", "tax_base_amount", "tax_ids", "account_id"],
    )
    assert sum(i["debit"] for i in items) == pytest.approx(sum(i["credit"] for i in items))
    tax_of_20 = emu.seed["sale_tax_ids"]["20%"]
    assert {i["tax_line_id"][0] for i in items if i["tax_line_id"]} >= {tax_of_20}
    statement = emu.rpc.execute(
        "account.bank.statement.line",
        "search_read",
        [["pos_session_id", "=", session_id], ["payment_ref", "=", "POS/00001"]],
        fields=["amount", "journal_id", "state"],
    )
    assert [(s["amount"], s["journal_id"][0], s["state"]) for s in statement] == [
        (pytest.approx(cash_total + refund_total), emu.seed["cash_journal_id"], "posted")
    ]


async def test_a_count_short_by_two_fifty_books_exactly_one_loss_of_two_fifty(
    emu: EmulatorUnderTest,
) -> None:
    session_id = emu.rpc.open_session(opening_cash=OPENING_FLOAT)
    cash_sold = await _sell_coffee_for_cash(emu, session_id)

    assert _close_from_ui(emu, session_id, OPENING_FLOAT + cash_sold - 2.5) == {"successful": True}

    books = await emu.control.session_books("demo", session_id)
    assert _differences(books, "closing") == [
        {
            "payment_ref": "Cash difference observed during the counting (Loss) - closing",
            "amount": -2.5,
            "counterpart_account_id": emu.seed["account_ids"]["cash_difference_loss"],
        }
    ]
    assert books["cash_register_difference"] == -2.5
    assert books["state"] == "closed"


async def test_a_difference_with_no_loss_account_is_refused_and_closes_once_the_account_is_set(
    emu: EmulatorUnderTest,
) -> None:
    accountant = _accountant(emu)
    journal = emu.seed["cash_journal_id"]
    session_id = emu.rpc.open_session(opening_cash=OPENING_FLOAT)
    cash_sold = await _sell_coffee_for_cash(emu, session_id)
    accountant.execute("account.journal", "write", [journal], {"loss_account_id": False})

    with pytest.raises(RpcError) as refused:
        _close_from_ui(emu, session_id, OPENING_FLOAT + cash_sold - 2.5)

    assert refused.value.name == "odoo.exceptions.UserError"
    assert refused.value.message == LOSS_TEXT
    # The count and the closing control state were earlier calls of their own: they stay.
    session = _session(emu, session_id)
    assert session["state"] == "closing_control"
    assert session["move_id"] is False
    assert session["cash_register_balance_end_real"] == OPENING_FLOAT + cash_sold - 2.5
    assert {o["state"] for o in await emu.control.records("demo", "pos.order")} == {"paid"}

    loss = emu.seed["account_ids"]["cash_difference_loss"]
    accountant.execute("account.journal", "write", [journal], {"loss_account_id": loss})
    assert emu.rpc.execute("pos.session", "close_session_from_ui", [session_id]) == {
        "successful": True
    }
    assert _session(emu, session_id)["state"] == "closed"


# ---------------------------------------------------------------- the Force Close wizard


async def test_a_tax_rate_changed_after_the_sale_answers_the_force_close_wizard(
    emu: EmulatorUnderTest,
) -> None:
    card = emu.seed["card_payment_method_id"]
    session_id = emu.rpc.open_session()
    sold = [Sold(4, "1", "10.00", "10%")]
    emu.rpc.push([_order(emu, session_id, "Order 1", sold, [(card, 11.0)])])
    # The order's paid total matches its amount_total; Odoo recomputes the tax at closing.
    _accountant(emu).execute(
        "account.tax", "write", [emu.seed["sale_tax_ids"]["10%"]], {"amount": 20.0}
    )

    answer = _close_from_ui(emu, session_id, 0.0)

    expected: dict[str, Any] = {
        "successful": False,
        "message": "Force Close Session",
        "redirect": True,
    }
    if emu.version == 18:
        expected["open_order_ids"] = []
    assert answer == expected
    session = _session(emu, session_id)
    assert session["state"] == "closing_control"
    assert session["move_id"] is False
    assert session["statement_line_ids"] == []
    assert {o["state"] for o in await emu.control.records("demo", "pos.order")} == {"paid"}
    books = await emu.control.session_books("demo", session_id)
    assert books["projected"] is True
    assert books["balanced"] is False


async def test_the_backend_close_answers_the_wizard_action_and_the_wizard_force_closes(
    emu: EmulatorUnderTest,
) -> None:
    card = emu.seed["card_payment_method_id"]
    session_id = emu.rpc.open_session()
    sold = [Sold(4, "1", "10.00", "10%")]
    emu.rpc.push([_order(emu, session_id, "Order 1", sold, [(card, 11.0)])])
    _accountant(emu).execute(
        "account.tax", "write", [emu.seed["sale_tax_ids"]["10%"]], {"amount": 20.0}
    )

    action = emu.rpc.execute("pos.session", "action_pos_session_closing_control", [session_id])

    assert {k: v for k, v in action.items() if k not in ("res_id", "context")} == {
        "name": "Force Close Session",
        "type": "ir.actions.act_window",
        "view_mode": "form",
        "res_model": "pos.close.session.wizard",
        "target": "new",
    }
    assert action["context"]["active_ids"] == [session_id]
    assert action["context"]["active_model"] == "pos.session"
    # The whole call rolled back, the closing control state with it.
    assert _session(emu, session_id)["state"] == "opened"
    [wizard] = emu.rpc.execute(
        "pos.close.session.wizard",
        "read",
        [action["res_id"]],
        ["amount_to_balance", "account_id", "message"],
    )
    assert wizard["amount_to_balance"] == pytest.approx(-1.0)  # 11.00 paid, 12.00 booked
    assert wizard["account_id"][0] == emu.seed["account_ids"]["pos_receivable"]

    assert (
        emu.rpc.execute(
            "pos.close.session.wizard",
            "close_session",
            [action["res_id"]],
            context=action["context"],
        )
        is True
    )
    assert _session(emu, session_id)["state"] == "closed"
    books = await emu.control.session_books("demo", session_id)
    assert books["balanced"] is True


@pytest.mark.parametrize("version", [18])
async def test_in_18_lines_without_taxes_book_no_tax_whatever_amount_tax_claims(
    emu: EmulatorUnderTest,
) -> None:
    card = emu.seed["card_payment_method_id"]
    session_id = emu.rpc.open_session()
    # Meant as 10.00 plus 10% tax, sent without the tax.
    pushed = emu.order(session_id, "Order 1", lines=[(4, 1, 10.0)], payments=[(card, 11.0)])
    pushed["lines"][0][2].update(price_subtotal=10.0, price_subtotal_incl=11.0)
    pushed.update(amount_tax=1.0, amount_total=11.0)
    emu.rpc.push([pushed])
    assert (await emu.control.records("demo", "pos.order"))[0]["state"] == "paid"

    answer = emu.rpc.execute("pos.session", "close_session_from_ui", [session_id])

    assert answer["successful"] is False
    assert answer["message"] == "Force Close Session"
    books = await emu.control.session_books("demo", session_id)
    assert books["taxes"] == []
    assert books["sales"] == [
        {"account_id": emu.seed["account_ids"]["product_sales"], "tax_ids": [], "amount": 10.0}
    ]


# ---------------------------------------------------------------- taxes and amounts


async def test_included_and_excluded_taxes_with_discounts_book_odoos_rounding(
    emu: EmulatorUnderTest,
) -> None:
    card = emu.seed["card_payment_method_id"]
    session_id = emu.rpc.open_session()
    sold = [
        Sold(3, "1", "1.50", "10% incl.", discount="5"),  # 1.425 rounds to 1.43
        Sold(1, "1", "1.23", "20% incl."),  # 1.23 / 1.2 = 1.025: a tie on the base
        Sold(4, "2", "4.15", "20%", discount="5"),  # 7.885 rounds to 7.89
    ]
    paid = float(sum(sum(s.figures(emu.version)) for s in sold))
    emu.rpc.push([_order(emu, session_id, "Order 1", sold, [(card, paid)])])

    books = await emu.control.session_books("demo", session_id)

    incl_20 = (
        (Decimal("1.02"), Decimal("0.21"))
        if emu.version == 18
        else (
            Decimal("1.03"),
            Decimal("0.20"),
        )
    )
    assert _booked_taxes(books) == {
        "10% incl.": (Decimal("1.30"), Decimal("0.13")),
        "20% incl.": incl_20,
        "20%": (Decimal("7.89"), Decimal("1.58")),
    }
    assert books["balanced"] is True


async def test_the_order_amounts_odoo_keeps_are_the_clients_but_18_recomputes_with_change(
    emu: EmulatorUnderTest,
) -> None:
    cash = emu.seed["cash_payment_method_id"]
    session_id = emu.rpc.open_session()
    sold = [Sold(3, "1", "1.50", "10% incl.", discount="5"), Sold(4, "2", "4.15", "20%", "5")]
    payload = _order(emu, session_id, "Order 1", sold, [(cash, 20.0)], amount_return=9.10)
    body = payload if emu.version == 18 else payload["data"]
    body["amount_tax"] = 0.0  # a client that got its tax wrong

    emu.rpc.push([payload])

    [order] = await emu.control.records("demo", "pos.order")
    if emu.version == 18:
        # _process_payment_lines recomputes the order after booking the change.
        assert order["amount_tax"] == pytest.approx(1.71)
        assert order["amount_total"] == pytest.approx(10.90)
        assert order["amount_difference"] == pytest.approx(0.0)
    else:
        assert order["amount_tax"] == 0.0
        assert order["amount_total"] == pytest.approx(10.90)
    assert order["state"] == "paid"


async def test_price_include_is_a_stored_flag_in_16_17_and_computed_from_an_override_in_18(
    emu: EmulatorUnderTest,
) -> None:
    taxes = emu.seed["sale_tax_ids"]
    fields = emu.rpc.execute("account.tax", "fields_get", ["price_include"], ["store"])
    included = emu.rpc.execute("account.tax", "search", [["price_include", "=", True]])

    assert included == [taxes["10% incl."], taxes["20% incl."]]
    if emu.version == 18:
        assert fields["price_include"]["store"] is False
        new = emu.rpc.execute(
            "account.tax", "create", {"name": "7%", "amount": 7.0, "price_include": True}
        )
        # price_include has no inverse: a create sets the override or nothing.
        assert emu.rpc.execute("account.tax", "read", [new], ["price_include"])[0] == {
            "id": new,
            "price_include": False,
        }
        with pytest.raises(RpcError) as raised:
            emu.rpc.execute("account.tax", "search", [["price_include", "=", "yes"]])
        assert raised.value.name == "builtins.NotImplementedError"
    else:
        assert fields["price_include"]["store"] is True
        with pytest.raises(RpcError) as raised:
            emu.rpc.execute(
                "account.tax",
                "create",
                {"name": "7%", "amount": 7.0, "price_include_override": "tax_included"},
            )
        assert (
            raised.value.message == "Invalid field 'price_include_override' on model 'account.tax'"
        )


# ---------------------------------------------------------------- opening float


async def test_the_opening_float_is_booked_as_the_version_does(emu: EmulatorUnderTest) -> None:
    first = emu.rpc.open_session(opening_cash=OPENING_FLOAT)
    books = await emu.control.session_books("demo", first)
    suspense = emu.seed["account_ids"]["suspense"]
    if emu.version == 18:
        assert books["cash_statement_lines"] == []
    else:
        # 16/17 expected the previous session's count (none: 0) and book the difference.
        assert books["cash_statement_lines"] == [
            {
                "payment_ref": "Cash difference observed during the counting (Profit) - opening",
                "amount": OPENING_FLOAT,
                "counterpart_account_id": suspense,
            }
        ]
    assert books["cash_register_balance_start"] == OPENING_FLOAT
    assert books["cash_register_balance_end"] == OPENING_FLOAT
    assert _close_from_ui(emu, first, 150.0) == {"successful": True}

    second = emu.rpc.execute("pos.session", "create", {"config_id": 1})
    # A new session starts from the previous session's counted cash.
    assert _session(emu, second)["cash_register_balance_start"] == 150.0
    method = "set_opening_control" if emu.version == 18 else "set_cashbox_pos"
    assert emu.rpc.execute("pos.session", method, [second], 140.0, "ten short") is None

    books = await emu.control.session_books("demo", second)
    assert books["cash_register_balance_start"] == 140.0
    assert books["cash_register_balance_end"] == 140.0
    if emu.version == 18:
        assert books["cash_statement_lines"] == []
    else:
        assert books["cash_statement_lines"] == [
            {
                "payment_ref": "Cash difference observed during the counting (Loss) - opening",
                "amount": -10.0,
                "counterpart_account_id": suspense,
            }
        ]


async def test_a_session_without_orders_closes_straight_away(emu: EmulatorUnderTest) -> None:
    session_id = emu.rpc.open_session()

    assert emu.rpc.execute("pos.session", "action_pos_session_closing_control", [session_id])

    books = await emu.control.session_books("demo", session_id)
    assert books["state"] == "closed"
    assert books["move_id"] is None
    assert books["balanced"] is True
    assert books["cash_statement_lines"] == []
