"""Opaque cursors over a table's `seq` column, newest first."""

from __future__ import annotations

import base64
import binascii

from shared.errors import InvalidRequestError


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error):
        raise InvalidRequestError(
            "The cursor is not one this API gave out; start again without it.", field="cursor"
        ) from None
