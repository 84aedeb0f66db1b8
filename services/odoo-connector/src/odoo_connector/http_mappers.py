"""Between the admin API's bodies and what the connector stores and decides."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from odoo_connector.domain import NamedTax, TaxMap
from odoo_connector.http_models import (
    OdooSettingsPublic,
    TaxMappingEntry,
    TaxMappingPublic,
)
from odoo_connector.repository import SettingsRow


def named_taxes(entries: Sequence[TaxMappingEntry]) -> list[NamedTax]:
    # As the API's JSON writes the rate ("10.5"), so a GET shows what was PUT.
    return [
        NamedTax(str(entry.rate_percent), entry.prices_include_tax, entry.odoo_tax_id)
        for entry in entries
    ]


def settings_public(row: SettingsRow) -> OdooSettingsPublic:
    return OdooSettingsPublic(
        tenant_id=row.tenant_id,
        url=row.url,
        database=row.database,
        login=row.login,
        odoo_version=row.odoo_version,
        template_pos_config_id=row.template_pos_config_id,
        tax_mapping=[
            TaxMappingEntry(
                rate_percent=Decimal(entry.rate_percent),
                prices_include_tax=entry.prices_include_tax,
                odoo_tax_id=entry.odoo_tax_id,
            )
            for entry in row.tax_mapping
        ],
        secret_stored=True,
        updated_at=row.updated_at,
    )


def tax_mapping_public(taxes: TaxMap) -> list[TaxMappingPublic]:
    return [
        TaxMappingPublic(
            rate_percent=format(m.key[0], "f"),
            prices_include_tax=m.key[1],
            odoo_tax_id=m.tax.id,
            odoo_tax_name=m.tax.name,
            source="settings" if m.explicit else "found",
        )
        for m in sorted(taxes.mappings.values(), key=lambda m: m.key)
    ]
