"""How a PATCH applies: only what changes, and only to the version the caller read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.errors import InvalidRequestError, PreconditionFailedError


def expected_version(if_match: str | None) -> int | None:
    """The version an `If-Match` header names (our ETags are `"<version>"`), if one was sent."""
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    # Our versions are Postgres integers: at most 10 ASCII digits ("²" and "٣" are digits too).
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise InvalidRequestError(
            f'If-Match must be an ETag this API gave out, such as "3"; got {if_match!r}.',
            field="If-Match",
        )
    return int(text)


def check_version(current: int, expected: int | None, what: str) -> None:
    if expected is not None and expected != current:
        raise PreconditionFailedError(
            f"The {what} changed since you read it (it is at version {current}, your "
            f"If-Match names {expected}); read it again and reapply your change."
        )


def changed_fields(current: object, wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The wanted fields whose value differs from the record's attribute of the same name."""
    return {name: value for name, value in wanted.items() if getattr(current, name) != value}
