"""Which Odoo sale tax a till line's rate goes to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.consumer import PermanentHandlingError

TaxKey = tuple[Decimal, bool]


class TaxNotMappedError(PermanentHandlingError):
    """A line's tax rate has no sale tax in the tenant's Odoo."""


def tax_key(rate_percent: str | Decimal | float, included: bool) -> TaxKey:
    """A rate as a comparable key: "10", "10.0" and 10.0 are one rate."""
    rate = Decimal(str(rate_percent)).normalize()
    return (rate if rate != 0 else Decimal(0), included)


def describe_rate(key: TaxKey) -> str:
    rate, included = key
    return f"{format(rate, 'f')} % {'included in' if included else 'added to'} the price"


@dataclass(frozen=True)
class OdooSaleTax:
    id: int
    name: str
    amount: float
    amount_type: str
    price_include: bool


@dataclass(frozen=True)
class TaxMapping:
    """One rate's Odoo tax, and whether the tenant's settings named it or it was found."""

    key: TaxKey
    tax: OdooSaleTax
    explicit: bool


@dataclass(frozen=True)
class TaxMap:
    """Which Odoo sale tax a line's rate and price-include flag go to, for one tenant."""

    mappings: dict[TaxKey, TaxMapping]
    # Every sale tax the tenant's Odoo has, by id: a refund line takes its original's taxes.
    taxes: dict[int, OdooSaleTax]

    def tax_ids(self, rate_percent: str, included: bool) -> tuple[int, ...]:
        key = tax_key(rate_percent, included)
        mapping = self.mappings.get(key)
        if mapping is not None:
            return (mapping.tax.id,)
        if key[0] == 0:
            # An untaxed line computes the same with no tax at all; 16/17 only fill in the
            # product's taxes when `tax_ids` is absent, never when it is sent empty.
            return ()
        raise TaxNotMappedError(
            f"the tenant's Odoo has no sale tax of {describe_rate(key)}: create a percent "
            "sale tax of that rate in Odoo (with the same price-include setting), or map the "
            "rate to an Odoo tax in the tenant's Odoo settings (tax_mapping)"
        )

    def included(self, tax_ids: tuple[int, ...]) -> bool:
        return any(self.taxes[t].price_include for t in tax_ids if t in self.taxes)


@dataclass(frozen=True)
class NamedTax:
    """A rate the tenant's Odoo settings send to an Odoo tax of its choosing."""

    rate_percent: str
    prices_include_tax: bool
    odoo_tax_id: int


def tax_map(odoo_taxes: list[OdooSaleTax], explicit: Sequence[NamedTax]) -> TaxMap:
    """Explicit mappings first; every other rate goes to the oldest percent sale tax of that
    amount and price-include setting."""
    by_id = {tax.id: tax for tax in odoo_taxes}
    mappings: dict[TaxKey, TaxMapping] = {}
    for tax in sorted(odoo_taxes, key=lambda t: t.id):
        if tax.amount_type != "percent":
            continue
        key = tax_key(tax.amount, tax.price_include)
        mappings.setdefault(key, TaxMapping(key, tax, explicit=False))
    for entry in explicit:
        key = tax_key(entry.rate_percent, entry.prices_include_tax)
        named = by_id.get(entry.odoo_tax_id)
        if named is None:
            raise TaxNotMappedError(
                f"the tenant's Odoo settings map {describe_rate(key)} to Odoo tax "
                f"{entry.odoo_tax_id}, which is not an active sale tax in its Odoo"
            )
        mappings[key] = TaxMapping(key, named, explicit=True)
    return TaxMap(mappings, by_id)
