"""The catalog's rules: what a product's prices and places may be, and how a register's catalog is
named for a tablet that polls it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from uuid import UUID

from shared.errors import ConflictError, InvalidRequestError


def prices_by_currency(prices: Iterable[tuple[str, int]]) -> dict[str, int]:
    """One price per currency: a register sells in its shop's currency; two would be ambiguous."""
    by_currency: dict[str, int] = {}
    for currency, amount in prices:
        if currency in by_currency:
            raise InvalidRequestError(
                f"prices lists {currency} twice; give one price per currency.", field="prices"
            )
        by_currency[currency] = amount
    return by_currency


def percent_text(value: Decimal) -> str:
    """A stored rate as people write it: 10, not 10.000."""
    return format(value.normalize(), "f")


def catalog_etag(catalog_revision: int, register_version: int, shop_version: int) -> str:
    """Changes when any product or category of the tenant changes, or the register moves shop,
    or the shop changes currency: anything that can change what the register may sell."""
    return f'"c{catalog_revision}.r{register_version}.s{shop_version}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def unknown_places(kind: str, field: str, unknown: Sequence[UUID]) -> InvalidRequestError:
    listed = ", ".join(str(place) for place in unknown)
    return InvalidRequestError(
        f"{field} names {kind} that this tenant does not have: {listed}. "
        f"List only this tenant's {kind}, or leave {field} empty.",
        field=field,
    )


def unknown_category(category_id: UUID) -> InvalidRequestError:
    return InvalidRequestError(
        f"There is no product category {category_id} in this tenant; create it first "
        "(POST /v1/product-categories) or leave category_id out.",
        field="category_id",
    )


def product_reference_taken(reference: str) -> ConflictError:
    return ConflictError(
        f"This tenant already has a product with reference {reference!r}; a reference names "
        "one product on receipts and in Odoo, so choose another or change that product.",
        field="reference",
    )


def category_name_taken(name: str) -> ConflictError:
    return ConflictError(
        f"This tenant already has a product category named {name!r}; choose another name.",
        field="name",
    )


def register_needed() -> InvalidRequestError:
    return InvalidRequestError(
        "Name the register whose catalog you want: GET /v1/catalog?register_id=<id>. "
        "A till's own token needs no register_id.",
        field="register_id",
    )
