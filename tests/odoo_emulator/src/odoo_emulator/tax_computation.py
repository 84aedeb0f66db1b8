"""Odoo's tax computation for one line, per engine: 16/17 `compute_all`, 18 `_get_tax_details`.

Only what a POS line uses: percent, fixed and division taxes, price-included or not, one tax per
batch of the same kind, no `include_base_amount` and no tax groups (their children are not
modelled), the company's default `round_per_line` method.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from odoo_emulator.rounding import float_is_zero, float_round


@dataclass(frozen=True)
class RepartitionShare:
    """A `tax` repartition line: the share of the tax amount booked on one account."""

    line_id: int
    factor: float
    account_id: int | None


@dataclass(frozen=True)
class TaxRule:
    """The fields of one account.tax that the computation reads."""

    id: int
    name: str
    amount: float
    amount_type: str
    price_include: bool
    sequence: int
    invoice_shares: tuple[RepartitionShare, ...] = ()
    refund_shares: tuple[RepartitionShare, ...] = ()

    def shares(self, is_refund: bool) -> tuple[RepartitionShare, ...]:
        return self.refund_shares if is_refund else self.invoice_shares


@dataclass
class TaxLine:
    """One tax on one line, for one repartition line: signed amount and signed base."""

    tax: TaxRule
    share: RepartitionShare
    amount: float
    base: float


@dataclass
class LineTaxes:
    total_excluded: float
    total_included: float
    taxes: list[TaxLine] = field(default_factory=list)


def _ordered(taxes: list[TaxRule]) -> list[TaxRule]:
    return sorted((t for t in taxes if t.amount_type != "group"), key=lambda t: (t.sequence, t.id))


def _spread(
    amount: float, factorized: float, shares: tuple[RepartitionShare, ...], rounding: float
) -> list[float]:
    """The amount per repartition line, the rounding error given to the first lines."""
    amounts = [float_round(amount * share.factor, rounding) for share in shares]
    error = float_round(factorized - sum(amounts), rounding)
    steps = int(abs(error / rounding))
    step = float_round(error / steps, rounding) if steps else 0.0
    for index in range(min(steps, len(amounts))):
        amounts[index] += step
    return amounts


# ---------------------------------------------------------------------------- 16 and 17


def compute_all(
    taxes: list[TaxRule],
    price_unit: float,
    quantity: float,
    rounding: float,
    *,
    is_refund: bool = False,
    fixed_multiplicator: float = 1,
) -> LineTaxes:
    """account.tax.compute_all of 16.0/17.0 with the company's `round_per_line` method."""
    ordered = _ordered(taxes)
    base = float_round(price_unit * quantity, rounding)
    sign = 1.0
    if float_is_zero(base, rounding):
        sign = -1.0 if fixed_multiplicator < 0 else 1.0
    elif base < 0:
        sign, base = -1.0, -base

    # Backwards through the taxes: strip the price-included ones to find the excluded total,
    # remembering the included total of the last included tax so its amount absorbs rounding.
    checkpoints: dict[int, float] = {}
    store_checkpoint = True
    incl_fixed = incl_percent = incl_division = 0.0
    for index in range(len(ordered) - 1, -1, -1):
        tax = ordered[index]
        factor = sum(s.factor for s in tax.shares(is_refund))
        if not tax.price_include:
            continue
        if tax.amount_type == "percent":
            incl_percent += tax.amount * factor
        elif tax.amount_type == "division":
            incl_division += tax.amount * factor
        elif tax.amount_type == "fixed":
            incl_fixed += abs(quantity) * tax.amount * factor * abs(fixed_multiplicator)
        if store_checkpoint and tax.amount:
            checkpoints[index] = base
            store_checkpoint = False

    total_excluded = float_round(
        (base - incl_fixed) / (1.0 + incl_percent / 100.0) * (100 - incl_division) / 100, rounding
    )
    base = total_included = total_excluded
    cumulated_included = 0.0
    result = LineTaxes(total_excluded=0.0, total_included=0.0)
    for index, tax in enumerate(ordered):
        shares = tax.shares(is_refund)
        factor = sum(s.factor for s in shares)
        if tax.price_include and checkpoints.get(index) is not None and factor != 0:
            tax_amount = checkpoints[index] - (base + cumulated_included)
            cumulated_included = 0.0
        else:
            tax_amount = _amount_on_excluded_base(tax, base, quantity, fixed_multiplicator)
        tax_amount = float_round(tax_amount, rounding)
        factorized = float_round(tax_amount * factor, rounding)
        if tax.price_include and checkpoints.get(index) is None:
            cumulated_included += factorized
        for share, share_amount in zip(
            shares, _spread(tax_amount, factorized, shares, rounding), strict=True
        ):
            result.taxes.append(
                TaxLine(
                    tax=tax,
                    share=share,
                    amount=sign * share_amount,
                    base=float_round(sign * base, rounding),
                )
            )
        total_included += factorized
    result.total_excluded = sign * total_excluded
    result.total_included = sign * float_round(total_included, rounding)
    return result


def _amount_on_excluded_base(
    tax: TaxRule, base: float, quantity: float, fixed_multiplicator: float
) -> float:
    """account.tax._compute_amount with force_price_include=False."""
    if tax.amount_type == "fixed":
        if base:
            return abs(quantity) * (1 if base > 0 else -1) * tax.amount * abs(fixed_multiplicator)
        return quantity * tax.amount * abs(fixed_multiplicator)
    if tax.amount_type == "percent":
        return base * tax.amount / 100
    if tax.amount_type == "division":
        divisor = 1 - tax.amount / 100
        return base / divisor - base if divisor else 0.0
    return 0.0


# ---------------------------------------------------------------------------- 18


@dataclass
class _TaxState:
    tax: TaxRule
    batch: list[TaxRule]
    extra_base_for_tax: float = 0.0
    extra_base_for_base: float = 0.0
    tax_amount: float | None = None
    base: float = 0.0


def tax_details(
    taxes: list[TaxRule], price_unit: float, quantity: float, rounding: float
) -> tuple[float, list[tuple[TaxRule, float, float]]]:
    """18.0 _get_tax_details (`round_per_line`): total_excluded, [(tax, amount, base)].

    Every tax amount is rounded on its own, so an included tax's tie goes to the tax and the base
    is what is left of the rounded total; 16/17 round the base first and give the tax the rest.
    """
    ordered = _ordered(taxes)
    batches: dict[int, list[TaxRule]] = {}
    batch: list[TaxRule] = []
    for tax in reversed(ordered):
        if batch and not (
            tax.amount_type == batch[0].amount_type and tax.price_include == batch[0].price_include
        ):
            for member in batch:
                batches[member.id] = batch
            batch = []
        batch.append(tax)
    for member in batch:
        batches[member.id] = batch
    states = {tax.id: _TaxState(tax, batches[tax.id]) for tax in ordered}

    raw_base = float_round(quantity * price_unit, rounding)

    def outside_batch(tax: TaxRule) -> list[TaxRule]:
        members = batches[tax.id]
        before = []
        for other in ordered:
            if other in members:
                break
            before.append(other)
        after = []
        for other in reversed(ordered):
            if other in members:
                break
            after.append(other)
        return after + before

    def record(tax: TaxRule, amount: float) -> None:
        state = states[tax.id]
        state.tax_amount = float_round(amount, rounding)
        if tax.price_include:
            # An included tax is taken out of the base of every tax outside its batch.
            for other in outside_batch(tax):
                other_state = states[other.id]
                if other_state.tax_amount is None:
                    other_state.extra_base_for_tax -= state.tax_amount
                other_state.extra_base_for_base -= state.tax_amount

    for tax in reversed(ordered):
        if tax.amount_type == "fixed" and states[tax.id].tax_amount is None:
            record(tax, (-1 if price_unit < 0 else 1) * quantity * tax.amount)
    for tax in reversed(ordered):
        state = states[tax.id]
        if tax.price_include and state.tax_amount is None:
            base = raw_base + state.extra_base_for_tax
            if tax.amount_type == "percent":
                total = sum(t.amount for t in state.batch) / 100.0
                factor = 1 / (1 + total) if total != -1 else 0.0
                record(tax, base * factor * tax.amount / 100.0)
            elif tax.amount_type == "division":
                record(tax, base * tax.amount / 100.0)
    for tax in ordered:
        state = states[tax.id]
        if not tax.price_include and state.tax_amount is None:
            base = raw_base + state.extra_base_for_tax
            if tax.amount_type == "percent":
                record(tax, base * tax.amount / 100.0)
            elif tax.amount_type == "division":
                total = sum(t.amount for t in state.batch) / 100.0
                multiplicator = 1.0 if total == 1.0 else 1 - total
                record(tax, base * tax.amount / 100.0 / multiplicator)

    computed = [states[t.id] for t in ordered if states[t.id].tax_amount is not None]
    for state in computed:
        state.base = raw_base + state.extra_base_for_base
        if state.tax.price_include:
            state.base -= sum(states[t.id].tax_amount or 0.0 for t in state.batch)
    total_excluded = float_round(computed[0].base, rounding) if computed else raw_base
    return total_excluded, [
        (s.tax, float_round(s.tax_amount or 0.0, rounding), float_round(s.base, rounding))
        for s in computed
    ]
