"""The tenant's tax mappings between the settings API and what is stored, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from odoo_connector.domain import NamedTax, OdooSaleTax, tax_map
from odoo_connector.http_mappers import named_taxes, settings_public, tax_mapping_public
from odoo_connector.http_models import TaxMappingEntry
from odoo_connector.repository import SettingsRow


def _row(tax_mapping: tuple[NamedTax, ...]) -> SettingsRow:
    return SettingsRow(
        uuid.uuid4(),
        "https://odoo.example",
        "shop",
        "connector",
        b"sealed",
        17,
        datetime(2026, 3, 2, tzinfo=UTC),
        None,
        tax_mapping,
    )


def test_a_mapping_is_shown_with_the_rate_it_was_put_with() -> None:
    put = [
        TaxMappingEntry(rate_percent=Decimal("5.50"), prices_include_tax=True, odoo_tax_id=7),
        TaxMappingEntry(rate_percent=Decimal("20"), prices_include_tax=False, odoo_tax_id=9),
    ]
    stored = named_taxes(put)
    assert stored == [NamedTax("5.50", True, 7), NamedTax("20", False, 9)]
    shown = settings_public(_row(tuple(stored)))
    assert shown.tax_mapping == put
    assert [entry.model_dump(mode="json") for entry in shown.tax_mapping] == [
        entry.model_dump(mode="json") for entry in put
    ]


def test_the_check_lists_each_rate_once_with_where_its_tax_came_from() -> None:
    taxes = tax_map(
        [
            OdooSaleTax(3, "10%", 10.0, "percent", price_include=False),
            OdooSaleTax(4, "10% (bis)", 10.0, "percent", price_include=False),
            OdooSaleTax(5, "5.5% incl.", 5.5, "percent", price_include=True),
        ],
        [NamedTax("10", prices_include_tax=False, odoo_tax_id=4)],
    )
    listed = [
        (m.rate_percent, m.prices_include_tax, m.odoo_tax_id, m.source)
        for m in tax_mapping_public(taxes)
    ]
    assert listed == [("5.5", True, 5, "found"), ("10", False, 4, "settings")]
