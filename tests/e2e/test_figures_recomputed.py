"""Every money figure the orders and reporting services answer, checked against a recomputation
in this test from what the tills sent: plain Decimal arithmetic written here, following the
rules the README states, never the services' own code.

A day of a Starter shop with two registers: taxes included and added at several rates,
discounts, card, cash with change, QR and a method the registers service never heard of, an
opening float and counted cash, a till closed and reopened, whole refunds, a line refunded in
parts, and a refund of a closed session's order in the next one. Then every order, refund and
session of the orders API, and the dashboard, the daily report, the sales report in every
grouping and the X and Z reports of reporting, figure by figure.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from test_support.polling import eventually
from test_support.registers import Tenant

from .conftest import System

ZONE = ZoneInfo("Europe/Paris")
CUTOFF = time(4, 0)
Json = dict[str, Any]


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Line:
    name: str
    quantity: str
    unit_price: int
    discount: str
    rate: str
    included: bool

    @property
    def ref(self) -> str:
        return self.name.upper().replace(" ", "-")

    def figures(self) -> dict[str, int]:
        """Gross, then the discount off it, then the tax in it or on it, each rounded half up."""
        gross = half_up(Decimal(self.quantity) * self.unit_price)
        discount = half_up(gross * Decimal(self.discount) / 100)
        rate = Decimal(self.rate) / 100
        if self.included:
            total = gross - discount
            net = half_up(total / (1 + rate))
            tax = total - net
        else:
            net = gross - discount
            tax = half_up(net * rate)
            total = net + tax
        return {"gross": gross, "discount": discount, "net": net, "tax": tax, "total": total}


@dataclass(frozen=True)
class Pay:
    method: str
    kind: str
    amount: int
    tendered: int | None = None

    def body(self) -> Json:
        paid: Json = {"method": self.method, "kind": self.kind, "amount": eur(self.amount)}
        if self.tendered is not None:
            paid |= {"tendered": eur(self.tendered), "change": eur(self.tendered - self.amount)}
        return paid


def eur(amount: int) -> Json:
    return {"amount": amount, "currency": "EUR"}


@dataclass
class Sale:
    till: str
    session: str
    at: datetime
    lines: list[Line]
    payments: list[Pay]
    response: Json = field(default_factory=dict)

    def line(self, index: int) -> dict[str, int]:
        return self.lines[index].figures()

    def total(self, figure: str) -> int:
        return sum(line.figures()[figure] for line in self.lines)


@dataclass
class Refund:
    sale: Sale
    till: str
    session: str
    at: datetime
    parts: dict[int, dict[str, Any]]  # line index -> quantity and its net, tax, total
    payments: list[Pay]
    response: Json = field(default_factory=dict)

    def total(self, figure: str) -> int:
        return sum(part[figure] for part in self.parts.values())


def refund_part(line: Line, before: Decimal, after: Decimal, back: dict[str, int]) -> Json:
    """The README's rule: the figure the price means on cumulative quantities, the tax at the
    line's rate from it (kept where the rest of the line can carry it), the last part the rest."""
    sold = line.figures()
    left = {k: sold[k] - back[k] for k in ("net", "tax", "total")}
    if after == Decimal(line.quantity):
        return left
    rate = Decimal(line.rate) / 100
    share = after / Decimal(line.quantity)
    if line.included:
        total = min(left["total"], max(0, half_up(sold["total"] * share) - back["total"]))
        tax = total - half_up(total / (1 + rate))
        tax = max(left["tax"] - (left["total"] - total), min(total, left["tax"], tax))
        return {"net": total - tax, "tax": tax, "total": total}
    net = min(left["net"], max(0, half_up(sold["net"] * share) - back["net"]))
    tax = min(left["tax"], max(0, half_up(net * rate)))
    return {"net": net, "tax": tax, "total": net + tax}


def business_day(moment: datetime) -> date:
    local = moment.astimezone(ZONE)
    return local.date() - timedelta(days=1) if local.time() < CUTOFF else local.date()


def hour_of(moment: datetime) -> int:
    return moment.astimezone(ZONE).hour


def rate_text(rate: str) -> str:
    return format(Decimal(rate).normalize(), "f")


def quantity_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass
class Shop:
    """What the tills did, as they sent it, and the services' answers to read."""

    tenant: Tenant
    shop_id: str
    registers: dict[str, Json]
    devices: dict[str, dict[str, str]]
    manager: dict[str, str]
    method_ids: dict[str, str]
    sessions: dict[str, Json] = field(default_factory=dict)  # key -> {till, opening, id, ...}
    sales: list[Sale] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    refunded: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    given_back: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)


async def _setup(system: System) -> Shop:
    reg = system.registers
    tenant = await reg.tenant("starter", name="Figures Cafe")
    shop = await reg.shop(tenant, name="Harbour", currency="EUR", timezone="Europe/Paris")
    registers = {
        key: await reg.register(
            tenant, shop, name=name, receipt_prefix=f"{key}{uuid.uuid4().hex[:4].upper()}"
        )
        for key, name in (("A", "Window"), ("B", "Terrace"))
    }
    method_ids = {}
    for code, name, kind in (
        ("card", "Card", "card"),
        ("cash", "Cash", "cash"),
        ("twint", "TWINT", "qr"),
    ):
        created = await reg.ok(
            "POST",
            "/v1/payment-methods",
            tenant.admin,
            201,
            json={"code": code, "name": name, "kind": kind},
        )
        method_ids[code] = created["id"]
    devices = {
        key: await reg.token_for(
            tenant.admin, role="cashier", subject=f"tablet-{key}", register_id=r["id"]
        )
        for key, r in registers.items()
    }
    manager = await reg.token_for(tenant.admin, role="manager", subject="boss")
    return Shop(tenant, shop["id"], registers, devices, manager, method_ids)


async def _open(system: System, shop: Shop, key: str, till: str, opening: int) -> None:
    body = {"register_id": shop.registers[till]["id"], "opening_cash": eur(opening)}

    async def opened() -> Json | None:
        response = await system.orders.client.post(
            "/v1/sessions", json=body, headers=shop.devices[till]
        )
        if response.status_code == 422 and "is not known" in response.text:
            return None  # the orders service has not heard of the register yet
        assert response.status_code == 201, response.text
        result: Json = response.json()
        return result

    session = await eventually(opened, what=f"register {till} known to orders")
    shop.sessions[key] = {
        "till": till,
        "opening": opening,
        "id": session["id"],
        "counted": None,
        # From the service's own opening time: the test's clock, read later, may be a day on.
        "business_date": business_day(datetime.fromisoformat(session["opened_at"])),
    }


async def _sell(system: System, shop: Shop, sale: Sale) -> None:
    lines = [
        {
            "product_ref": line.ref,
            "product_name": line.name,
            "quantity": line.quantity,
            "unit_price": eur(line.unit_price),
            "discount_percent": line.discount,
            "tax_rate_percent": line.rate,
            "prices_include_tax": line.included,
            "total": eur(line.figures()["total"]),
        }
        for line in sale.lines
    ]
    assert sum(p.amount for p in sale.payments) == sale.total("total")
    body = {
        "id": str(uuid.uuid4()),
        "register_id": shop.registers[sale.till]["id"],
        "created_at": sale.at.isoformat(),
        "lines": lines,
        "payments": [p.body() for p in sale.payments],
        "total": eur(sale.total("total")),
    }
    response = await system.orders.client.post(
        "/v1/orders", json=body, headers=shop.devices[sale.till]
    )
    assert response.status_code == 201, response.text
    sale.response = response.json()
    assert sale.response["session_id"] == shop.sessions[sale.session]["id"]
    shop.sales.append(sale)


async def _refund(
    system: System,
    shop: Shop,
    sale: Sale,
    session: str,
    at: datetime,
    quantities: dict[int, str],
    pays: Callable[[int], list[Pay]],
) -> Refund:
    sale_index = shop.sales.index(sale)
    parts = {}
    for index, quantity in quantities.items():
        key = (sale_index, index)
        before = shop.refunded.get(key, Decimal(0))
        after = shop.refunded[key] = before + Decimal(quantity)
        back = shop.given_back.setdefault(key, {"net": 0, "tax": 0, "total": 0})
        part = refund_part(sale.lines[index], before, after, back)
        for figure in back:
            back[figure] += part[figure]
        parts[index] = {"quantity": Decimal(quantity), **part}
    refund = Refund(sale, sale.till, session, at, parts, [])
    refund.payments = pays(refund.total("total"))
    body = {
        "id": str(uuid.uuid4()),
        "lines": [
            {"order_line_id": sale.response["lines"][i]["id"], "quantity": q}
            for i, q in quantities.items()
        ],
        "payments": [
            {"method": p.method, "kind": p.kind, "amount": eur(p.amount)} for p in refund.payments
        ],
        "reason": "figures",
        "created_at": at.isoformat(),
    }
    response = await system.orders.client.post(
        f"/v1/orders/{sale.response['id']}/refunds", json=body, headers=shop.devices[sale.till]
    )
    assert response.status_code == 201, response.text
    refund.response = response.json()
    assert refund.response["session_id"] == shop.sessions[session]["id"]
    shop.refunds.append(refund)
    return refund


async def _close(system: System, shop: Shop, key: str, over_short: int) -> None:
    session = shop.sessions[key]
    counted = _expected_cash(shop, key) + over_short
    response = await system.orders.client.post(
        f"/v1/sessions/{session['id']}/close",
        json={"counted_cash": eur(counted)},
        headers=shop.devices[session["till"]],
    )
    assert response.status_code == 200, response.text
    session["counted"] = counted


def _card(amount: int) -> list[Pay]:
    return [Pay("card", "card", amount)]


def _cash(amount: int) -> list[Pay]:
    return [Pay("cash", "cash", amount)]


async def _trade(system: System, shop: Shop) -> None:
    """The day: the business date of every moment is worked out again when checking."""
    now = datetime.now(UTC).replace(microsecond=0)

    def ago(minutes: int) -> datetime:
        return now - timedelta(minutes=minutes)

    espresso = Line("Espresso", "2", 180, "0", "10", True)  # 327 + 33 = 360
    tea = Line("Tea", "3", 333, "10", "5.5", True)  # 999 − 100 = 899
    croissant = Line("Croissant", "1", 240, "0", "10", True)
    wine = Line("Wine", "3", 335, "0", "20", False)  # 1005 + 201
    gift = Line("Gift box", "1", 1250, "15", "20", False)  # 1062.5 → 1063 net
    paper = Line("Newspaper", "1", 300, "0", "0", True)
    cookies = Line("Cookie", "0.5", 375, "12.5", "5.5", False)  # fractional quantity
    water = Line("Water", "10", 6, "0", "10", True)  # tiny figures, refunded one by one

    await _open(system, shop, "A1", "A", 10_000)
    await _open(system, shop, "B1", "B", 5_000)
    s = shop
    a1 = [
        Sale("A", "A1", ago(150), [espresso, tea], []),
        Sale("A", "A1", ago(140), [wine, paper], []),
        Sale("A", "A1", ago(140), [gift, cookies, croissant], []),  # same moment as the one before
        Sale("A", "A1", ago(90), [water], []),
    ]
    splits = [
        lambda t: [Pay("card", "card", t)],
        lambda t: [Pay("cash", "cash", t, tendered=t + 500 - t % 500)],
        lambda t: [Pay("card", "card", t // 2), Pay("cash", "cash", t - t // 2, tendered=5_000)],
        lambda t: [Pay("voucher", "other", t)],
    ]
    for sale, split in zip(a1, splits, strict=True):
        sale.payments = split(sale.total("total"))
        await _sell(system, s, sale)
    b1 = [
        Sale("B", "B1", ago(130), [espresso, croissant, paper], []),
        Sale("B", "B1", ago(60), [tea, wine], []),
        Sale("B", "B1", ago(60), [cookies, water, gift], []),
    ]
    for sale, split in zip(b1, [_twint, _cash, _card], strict=True):
        sale.payments = split(sale.total("total"))
        await _sell(system, s, sale)

    # Whole and partial refunds; the espresso and the tea and the water in parts.
    await _refund(system, s, a1[0], "A1", ago(120), {0: "1", 1: "1"}, _card)
    await _refund(system, s, a1[1], "A1", ago(110), {0: "1"}, _cash)
    await _refund(system, s, a1[3], "A1", ago(80), {0: "1"}, _cash)
    await _refund(system, s, a1[3], "A1", ago(80), {0: "1"}, _cash)
    await _refund(system, s, b1[1], "B1", ago(50), {0: "3", 1: "2"}, _cash)
    await _refund(system, s, b1[2], "B1", ago(40), {0: "0.5", 2: "1"}, _card)
    await _close(system, s, "A1", over_short=-150)
    await _open(system, s, "A2", "A", 8_000)
    # The rest of A's first session's lines, in the next session.
    await _refund(system, s, a1[0], "A2", ago(30), {0: "1", 1: "2"}, _cash)
    await _refund(system, s, a1[1], "A2", ago(25), {0: "2", 1: "1"}, _card)
    await _refund(system, s, a1[3], "A2", ago(20), {0: "7"}, _cash)
    await _refund(system, s, a1[3], "A2", ago(20), {0: "1"}, _cash)
    late = Sale("A", "A2", ago(10), [espresso, gift], [])
    late.payments = [Pay("twint", "qr", 700), Pay("card", "card", late.total("total") - 700)]
    await _sell(system, s, late)
    await _refund(system, s, late, "A2", ago(5), {1: "1"}, _twint)
    await _close(system, s, "B1", over_short=30)


def _twint(amount: int) -> list[Pay]:
    return [Pay("twint", "qr", amount)]


# The independent recomputation.


def _of_session(items: Iterable[Any], key: str) -> list[Any]:
    return [item for item in items if item.session == key]


def _cash_in(pays: Iterable[Pay]) -> int:
    return sum(p.amount for p in pays if p.kind == "cash")


def _expected_cash(shop: Shop, key: str) -> int:
    sales = _of_session(shop.sales, key)
    refunds = _of_session(shop.refunds, key)
    return (
        shop.sessions[key]["opening"]
        + sum(_cash_in(s.payments) for s in sales)
        - sum(_cash_in(r.payments) for r in refunds)
    )


def _tenders(sales: list[Sale], refunds: list[Refund]) -> dict[tuple[str, str], Json]:
    rows: dict[tuple[str, str], Json] = defaultdict(
        lambda: {"sale_count": 0, "sales": 0, "refund_count": 0, "refunds": 0}
    )
    for sale in sales:
        for p in sale.payments:
            rows[(p.method, p.kind)]["sale_count"] += 1
            rows[(p.method, p.kind)]["sales"] += p.amount
    for refund in refunds:
        for p in refund.payments:
            rows[(p.method, p.kind)]["refund_count"] += 1
            rows[(p.method, p.kind)]["refunds"] += p.amount
    return rows


def _totals(sales: list[Sale], refunds: list[Refund]) -> Json:
    gross = sum(s.total("total") for s in sales)
    refunded = sum(r.total("total") for r in refunds)
    sales_tax = sum(s.total("tax") for s in sales)
    refunds_tax = sum(r.total("tax") for r in refunds)
    return {
        "order_count": len(sales),
        "refund_count": len(refunds),
        "gross": gross,
        "refunds": refunded,
        "net": gross - refunded,
        "average_ticket": half_up(Decimal(gross - refunded) / len(sales)) if sales else 0,
        "discounts": sum(s.total("discount") for s in sales),
        "sales_tax": sales_tax,
        "refunds_tax": refunds_tax,
        "net_tax": sales_tax - refunds_tax,
    }


def _tax_rows(sales: list[Sale], refunds: list[Refund]) -> list[Json]:
    rows: dict[tuple[Decimal, bool], Json] = defaultdict(
        lambda: dict.fromkeys(("sales_base", "sales_tax", "refund_base", "refund_tax"), 0)
    )
    for sale in sales:
        for line in sale.lines:
            row = rows[(Decimal(line.rate), line.included)]
            row["sales_base"] += line.figures()["net"]
            row["sales_tax"] += line.figures()["tax"]
    for refund in refunds:
        for index, part in refund.parts.items():
            line = refund.sale.lines[index]
            row = rows[(Decimal(line.rate), line.included)]
            row["refund_base"] += part["net"]
            row["refund_tax"] += part["tax"]
    return [
        {
            "rate": rate_text(str(rate)),
            "inclusive": included,
            "sales_taxable_base": r["sales_base"],
            "sales_tax_amount": r["sales_tax"],
            "refund_taxable_base": r["refund_base"],
            "refund_tax_amount": r["refund_tax"],
            "net_taxable_base": r["sales_base"] - r["refund_base"],
            "net_tax_amount": r["sales_tax"] - r["refund_tax"],
        }
        for (rate, included), r in sorted(rows.items())
    ]


def _hours(sales: list[Sale], refunds: list[Refund]) -> list[Json]:
    rows: dict[int, Json] = defaultdict(
        lambda: {"order_count": 0, "refund_count": 0, "gross": 0, "refunds": 0}
    )
    for sale in sales:
        rows[hour_of(sale.at)]["order_count"] += 1
        rows[hour_of(sale.at)]["gross"] += sale.total("total")
    for refund in refunds:
        rows[hour_of(refund.at)]["refund_count"] += 1
        rows[hour_of(refund.at)]["refunds"] += refund.total("total")
    ordered = sorted(rows, key=lambda hour: (hour - CUTOFF.hour) % 24)
    return [{"hour": h, **rows[h], "net": rows[h]["gross"] - rows[h]["refunds"]} for h in ordered]


def _products(sales: list[Sale], refunds: list[Refund]) -> dict[str, Json]:
    rows: dict[str, Json] = {}

    def row(line: Line) -> Json:
        return rows.setdefault(
            line.ref,
            {
                "product_name": line.name,
                "quantity": Decimal(0),
                "gross": 0,
                "discounts": 0,
                "total": 0,
                "refund_quantity": Decimal(0),
                "refunds": 0,
                "orders": set(),
                "refund_ids": set(),
                "sales_tax": 0,
                "refunds_tax": 0,
            },
        )

    for sale in sales:
        for line in sale.lines:
            figures, r = line.figures(), row(line)
            r["quantity"] += Decimal(line.quantity)
            r["gross"] += figures["gross"]
            r["discounts"] += figures["discount"]
            r["total"] += figures["total"]
            r["sales_tax"] += figures["tax"]
            r["orders"].add(id(sale))
    for refund in refunds:
        for index, part in refund.parts.items():
            r = row(refund.sale.lines[index])
            r["refund_quantity"] += part["quantity"]
            r["refunds"] += part["total"]
            r["refunds_tax"] += part["tax"]
            r["refund_ids"].add(id(refund))
    return rows


def _product_rows(sales: list[Sale], refunds: list[Refund]) -> list[Json]:
    rows = _products(sales, refunds)
    ordered = sorted(rows, key=lambda ref: (-(rows[ref]["total"] - rows[ref]["refunds"]), ref))
    return [
        {
            "product_ref": ref,
            "product_name": rows[ref]["product_name"],
            "quantity": quantity_text(rows[ref]["quantity"]),
            "gross": rows[ref]["gross"],
            "discounts": rows[ref]["discounts"],
            "total": rows[ref]["total"],
            "refund_quantity": quantity_text(rows[ref]["refund_quantity"]),
            "refunds": rows[ref]["refunds"],
            "net": rows[ref]["total"] - rows[ref]["refunds"],
        }
        for ref in ordered
    ]


# The checks.


def _money(value: Json) -> int:
    assert value["currency"] == "EUR"
    amount: int = value["amount"]
    return amount


def _check_order(sale: Sale, order: Json) -> None:
    assert _money(order["total"]) == sale.total("total")
    assert _money(order["net_total"]) == sale.total("net")
    assert _money(order["tax_total"]) == sale.total("tax")
    for line, answered in zip(sale.lines, order["lines"], strict=True):
        assert _money(answered["unit_price"]) == line.unit_price
        for figure, amount in line.figures().items():
            assert _money(answered[figure]) == amount, (line, figure)
    for pay, answered in zip(sale.payments, order["payments"], strict=True):
        assert _money(answered["amount"]) == pay.amount
        if pay.tendered is not None:
            assert _money(answered["tendered"]) == pay.tendered
            assert _money(answered["change"]) == pay.tendered - pay.amount


def _check_refund(refund: Refund, answered: Json) -> None:
    for figure in ("net", "tax"):
        assert _money(answered[f"{figure}_total"]) == refund.total(figure), figure
    assert _money(answered["total"]) == refund.total("total")
    assert len(answered["lines"]) == len(refund.parts)
    for (index, part), line in zip(refund.parts.items(), answered["lines"], strict=True):
        assert line["order_line_id"] == refund.sale.response["lines"][index]["id"]
        assert Decimal(line["quantity"]) == part["quantity"]
        for figure in ("net", "tax", "total"):
            assert _money(line[figure]) == part[figure], (refund.sale.lines[index], figure)
    paid = [_money(p["amount"]) for p in answered["payments"]]
    assert paid == [p.amount for p in refund.payments]


async def _check_orders_api(system: System, shop: Shop) -> None:
    for sale in shop.sales:
        _check_order(sale, sale.response)
        response = await system.orders.client.get(
            f"/v1/orders/{sale.response['id']}", headers=shop.devices[sale.till]
        )
        assert response.status_code == 200, response.text
        order = response.json()
        _check_order(sale, order)
        refunds = [r for r in shop.refunds if r.sale is sale]
        assert [r["id"] for r in order["refunds"]] == [r.response["id"] for r in refunds]
        for refund, answered in zip(refunds, order["refunds"], strict=True):
            _check_refund(refund, refund.response)
            _check_refund(refund, answered)
    for key, session in shop.sessions.items():
        response = await system.orders.client.get(
            f"/v1/sessions/{session['id']}", headers=shop.devices[session["till"]]
        )
        assert response.status_code == 200, response.text
        _check_session(shop, key, response.json())


def _check_session(shop: Shop, key: str, answered: Json) -> None:
    session = shop.sessions[key]
    sales, refunds = _of_session(shop.sales, key), _of_session(shop.refunds, key)
    expected = _expected_cash(shop, key)
    assert _money(answered["opening_cash"]) == session["opening"]
    assert _money(answered["expected_cash"]) == expected
    if session["counted"] is None:
        assert answered["counted_cash"] is None
        assert answered["cash_difference"] is None
    else:
        assert _money(answered["counted_cash"]) == session["counted"]
        assert _money(answered["cash_difference"]) == session["counted"] - expected
    totals = answered["totals"]
    sold, refunded = sum(s.total("total") for s in sales), sum(r.total("total") for r in refunds)
    assert (totals["order_count"], totals["refund_count"]) == (len(sales), len(refunds))
    assert _money(totals["sales_total"]) == sold
    assert _money(totals["refunds_total"]) == refunded
    assert _money(totals["net_total"]) == sold - refunded
    assert _money(totals["cash_sales"]) == sum(_cash_in(s.payments) for s in sales)
    assert _money(totals["cash_refunds"]) == sum(_cash_in(r.payments) for r in refunds)
    tenders = {
        (t["method"], t["kind"]): [_money(t[k]) for k in ("sales", "refunds", "net")]
        for t in totals["tenders"]
    }
    assert tenders == {
        key: [row["sales"], row["refunds"], row["sales"] - row["refunds"]]
        for key, row in _tenders(sales, refunds).items()
    }
    receipts = [s.response["receipt_number"] for s in sales]
    assert (totals["first_receipt_number"], totals["last_receipt_number"]) == (
        receipts[0],
        receipts[-1],
    )


def _check_session_report(shop: Shop, key: str, report: Json) -> None:
    session = shop.sessions[key]
    sales, refunds = _of_session(shop.sales, key), _of_session(shop.refunds, key)
    closed = session["counted"] is not None
    sold, refunded = sum(s.total("total") for s in sales), sum(r.total("total") for r in refunds)
    assert report["report_type"] == ("Z" if closed else "X")
    receipts = [s.response["receipt_number"] for s in sales]
    assert (report["first_receipt_number"], report["last_receipt_number"]) == (
        receipts[0],
        receipts[-1],
    )
    assert report["receipt_count"] == len(sales)
    assert report["sales"] == {
        "gross_sales": sum(s.total("gross") for s in sales),
        "discount_total": sum(s.total("discount") for s in sales),
        "discounted_order_count": sum(1 for s in sales if s.total("discount") > 0),
        "sales_total": sold,
        "refund_count": len(refunds),
        "refunds_total": refunded,
        "refunds_net": sum(r.total("net") for r in refunds),
        "net_total": sold - refunded,
        "net_sales": sum(s.total("net") for s in sales) - sum(r.total("net") for r in refunds),
        "tax_total": sum(s.total("tax") for s in sales) - sum(r.total("tax") for r in refunds),
        "order_count": len(sales),
        "average_ticket": half_up(Decimal(sold - refunded) / len(sales)),
    }
    expected = _expected_cash(shop, key)
    counted = session["counted"]
    cash_sales = sum(_cash_in(s.payments) for s in sales)
    cash_refunds = sum(_cash_in(r.payments) for r in refunds)
    assert report["cash_drawer"] == {
        "opening_float": session["opening"],
        "cash_sales": cash_sales,
        "cash_refunds": cash_refunds,
        "expected_cash": expected,
        "counted_cash": counted,
        "over_short": None if counted is None else counted - expected,
    }
    tenders = _tenders(sales, refunds)
    assert {(t["method"], t["kind"]): t for t in report["tenders"]} == {
        (method, kind): {
            "method": method,
            "kind": kind,
            "is_cash": kind == "cash",
            "sale_count": row["sale_count"],
            "sales_amount": row["sales"],
            "refund_count": row["refund_count"],
            "refunds_amount": row["refunds"],
            "net_amount": row["sales"] - row["refunds"],
            "expected": expected if kind == "cash" else None,
            "counted": counted if kind == "cash" else None,
            "difference": None if kind != "cash" or counted is None else counted - expected,
        }
        for (method, kind), row in tenders.items()
    }
    assert report["taxes"] == _tax_rows(sales, refunds)
    assert report["by_product"] == _product_rows(sales, refunds)
    assert report["by_hour"] == _hours(sales, refunds)
    assert report["integration"] is None  # a Starter tenant has no Odoo


def _of_day(items: Iterable[Any], day: date, till: str | None = None) -> list[Any]:
    return [i for i in items if business_day(i.at) == day and till in (None, i.till)]


def _check_daily(shop: Shop, day: date, report: Json) -> None:
    sales, refunds = _of_day(shop.sales, day), _of_day(shop.refunds, day)
    assert report["totals"] == _totals(sales, refunds)
    assert {r["register_id"]: r["totals"] for r in report["by_register"]} == {
        shop.registers[till]["id"]: _totals(_of_day(sales, day, till), _of_day(refunds, day, till))
        for till in sorted({i.till for i in [*sales, *refunds]})
    }
    assert {(m["method"], m["kind"]): m for m in report["by_payment_method"]} == {
        (method, kind): {
            "method": method,
            "kind": kind,
            **row,
            "net": row["sales"] - row["refunds"],
        }
        for (method, kind), row in _tenders(sales, refunds).items()
    }
    assert report["taxes"] == _tax_rows(sales, refunds)
    assert report["by_hour"] == _hours(sales, refunds)
    assert report["top_products"] == _product_rows(sales, refunds)[:10]
    assert sorted((r["created_at"], r["amount"], r["tax"]) for r in report["refunds"]) == sorted(
        (r.response["created_at"], r.total("total"), r.total("tax")) for r in refunds
    )
    opened_today = {k: s for k, s in shop.sessions.items() if s["business_date"] == day}
    assert {s["session_id"]: s for s in report["sessions"]}.keys() == {
        s["id"] for s in opened_today.values()
    }
    for entry in report["sessions"]:
        key = next(k for k, s in opened_today.items() if s["id"] == entry["session_id"])
        counted, expected = shop.sessions[key]["counted"], _expected_cash(shop, key)
        assert entry["opening_cash"] == shop.sessions[key]["opening"]
        assert entry["expected_cash"] == (expected if counted is not None else None)
        assert entry["counted_cash"] == counted
        assert entry["cash_difference"] == (None if counted is None else counted - expected)


def _check_sales_report(shop: Shop, group_by: str, report: Json, days: list[date]) -> None:
    sales = [s for s in shop.sales if business_day(s.at) in days]
    refunds = [r for r in shop.refunds if business_day(r.at) in days]
    assert report["totals"] == _totals(sales, refunds)
    groups = {g["key"]: g for g in report["groups"]}
    if group_by == "day":
        expected = {
            day.isoformat(): _totals(_of_day(sales, day), _of_day(refunds, day)) for day in days
        }
        assert {k: g["totals"] for k, g in groups.items()} == expected
    elif group_by == "register":
        assert {k: (g["label"], g["totals"]) for k, g in groups.items()} == {
            shop.registers[till]["id"]: (
                shop.registers[till]["name"],
                _totals(
                    [s for s in sales if s.till == till], [r for r in refunds if r.till == till]
                ),
            )
            for till in shop.registers
        }
    elif group_by == "hour":
        by_hour: dict[str, tuple[list[Sale], list[Refund]]] = defaultdict(lambda: ([], []))
        for sale in sales:
            by_hour[f"{hour_of(sale.at):02d}:00"][0].append(sale)
        for refund in refunds:
            by_hour[f"{hour_of(refund.at):02d}:00"][1].append(refund)
        assert {k: g["totals"] for k, g in groups.items()} == {
            hour: _totals(*pair) for hour, pair in by_hour.items()
        }
    elif group_by == "payment_method":
        expected_groups = {}
        for (method, kind), row in _tenders(sales, refunds).items():
            paid = [s for s in sales if any(p.method == method for p in s.payments)]
            back = [r for r in refunds if any(p.method == method for p in r.payments)]
            expected_groups[method] = {
                "key": method,
                "label": {"card": "Card", "cash": "Cash", "twint": "TWINT"}.get(method, method),
                "payment_method_id": shop.method_ids.get(method),
                "kind": kind,
                "totals": {
                    "order_count": len(paid),
                    "refund_count": len(back),
                    "gross": row["sales"],
                    "refunds": row["refunds"],
                    "net": row["sales"] - row["refunds"],
                    "average_ticket": None,
                    "discounts": None,
                    "sales_tax": None,
                    "refunds_tax": None,
                    "net_tax": None,
                },
            }
        assert groups == expected_groups
    else:
        products = _products(sales, refunds)
        assert {k: (g["label"], g["totals"]) for k, g in groups.items()} == {
            ref: (
                row["product_name"],
                {
                    "order_count": len(row["orders"]),
                    "refund_count": len(row["refund_ids"]),
                    "gross": row["total"],
                    "refunds": row["refunds"],
                    "net": row["total"] - row["refunds"],
                    "average_ticket": None,
                    "discounts": row["discounts"],
                    "sales_tax": row["sales_tax"],
                    "refunds_tax": row["refunds_tax"],
                    "net_tax": row["sales_tax"] - row["refunds_tax"],
                },
            )
            for ref, row in products.items()
        }


def _check_dashboard(shop: Shop, board: Json, today: date) -> None:
    sales, refunds = _of_day(shop.sales, today), _of_day(shop.refunds, today)
    assert board["business_date"] == today.isoformat()
    assert board["totals"] == _totals(sales, refunds)
    cards = {c["register_id"]: c for c in board["registers"]}
    for till, register in shop.registers.items():
        card = cards[register["id"]]
        assert card["today"] == _totals(_of_day(sales, today, till), _of_day(refunds, today, till))
        assert card["odoo_sync"] is None
        open_keys = [
            k for k, s in shop.sessions.items() if s["till"] == till and s["counted"] is None
        ]
        if not open_keys:
            assert card["open_session"] is None
            continue
        key = open_keys[-1]
        in_session = _of_session(shop.sales, key), _of_session(shop.refunds, key)
        assert card["open_session"]["opening_cash"] == shop.sessions[key]["opening"]
        assert card["open_session"]["order_count"] == len(in_session[0])
        assert card["open_session"]["refund_count"] == len(in_session[1])
        assert card["open_session"]["takings"] == sum(
            s.total("total") for s in in_session[0]
        ) - sum(r.total("total") for r in in_session[1])


async def _report(system: System, shop: Shop, path: str, **params: Any) -> Json:
    response = await system.reporting.client.get(path, params=params, headers=shop.manager)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def test_every_money_figure_of_orders_and_reporting_matches_a_recomputation(
    system: System,
) -> None:
    shop = await _setup(system)
    await _trade(system, shop)

    # Every refund adds up and a line refunded in parts gives back exactly its figures.
    for refund in shop.refunds:
        for part in refund.parts.values():
            assert part["net"] + part["tax"] == part["total"]
            assert min(part["net"], part["tax"]) >= 0
    for (sale_index, index), back in shop.given_back.items():
        sale = shop.sales[sale_index]
        if shop.refunded[(sale_index, index)] == Decimal(sale.lines[index].quantity):
            assert back == {k: sale.line(index)[k] for k in ("net", "tax", "total")}

    await _check_orders_api(system, shop)

    # Reporting follows the events: wait until it has seen every order and refund.
    days = sorted({business_day(i.at) for i in [*shop.sales, *shop.refunds]})

    async def caught_up() -> bool:
        report = await _report(
            system,
            shop,
            "/v1/reports/sales",
            shop_id=shop.shop_id,
            group_by="day",
            **{"from": days[0].isoformat(), "to": days[-1].isoformat()},
        )
        totals = report["totals"]
        return (totals["order_count"], totals["refund_count"]) == (
            len(shop.sales),
            len(shop.refunds),
        )

    await eventually(caught_up, within_s=30, what="reporting seeing every order and refund")

    async def sessions_caught_up() -> bool:
        for key, session in shop.sessions.items():
            report = await _report(system, shop, f"/v1/reports/sessions/{session['id']}")
            if report["report_type"] != ("Z" if session["counted"] is not None else "X"):
                return False
            if report["receipt_count"] != len(_of_session(shop.sales, key)):
                return False
        return True

    await eventually(sessions_caught_up, within_s=30, what="reporting seeing every session")

    for key, session in shop.sessions.items():
        _check_session_report(
            shop, key, await _report(system, shop, f"/v1/reports/sessions/{session['id']}")
        )
    for day in days:
        _check_daily(
            shop,
            day,
            await _report(
                system,
                shop,
                "/v1/reports/daily",
                shop_id=shop.shop_id,
                business_date=day.isoformat(),
            ),
        )
    for group_by in ("day", "hour", "register", "payment_method", "product"):
        report = await _report(
            system,
            shop,
            "/v1/reports/sales",
            shop_id=shop.shop_id,
            group_by=group_by,
            **{"from": days[0].isoformat(), "to": days[-1].isoformat()},
        )
        _check_sales_report(shop, group_by, report, days)
    today = business_day(datetime.now(UTC))
    _check_dashboard(
        shop, await _report(system, shop, "/v1/dashboard", shop_id=shop.shop_id), today
    )
