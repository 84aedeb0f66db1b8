"""If-Match and PATCH rules, without a database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from registers.domain.edits import changed_fields, check_version, expected_version
from shared.errors import InvalidRequestError, PreconditionFailedError


@pytest.mark.parametrize(("header", "version"), [('"3"', 3), ('W/"12"', 12), (" 7 ", 7)])
def test_an_etag_we_gave_out_names_its_version(header: str, version: int) -> None:
    assert expected_version(header) == version


def test_no_if_match_asks_for_no_version() -> None:
    assert expected_version(None) is None


@pytest.mark.parametrize("header", ['"three"', '"²"', '"٣"', '"12345678901"', '""', '"-1"'])
def test_an_if_match_that_is_not_our_etag_is_refused(header: str) -> None:
    with pytest.raises(InvalidRequestError, match="If-Match must be an ETag this API gave out"):
        expected_version(header)


def test_a_stale_version_is_refused_naming_both_versions() -> None:
    with pytest.raises(PreconditionFailedError, match=r"at version 4, your If-Match names 3"):
        check_version(4, 3, "shop")


@pytest.mark.parametrize("expected", [None, 4])
def test_the_current_version_or_none_passes(expected: int | None) -> None:
    check_version(4, expected, "shop")


@dataclass(frozen=True)
class _Shop:
    name: str
    currency: str


def test_only_fields_that_differ_are_changes() -> None:
    shop = _Shop(name="Main", currency="EUR")
    assert changed_fields(shop, {"name": "Main", "currency": "USD"}) == {"currency": "USD"}
    assert changed_fields(shop, {"name": "Main"}) == {}
