"""Opaque cursors over a table's `seq` column, newest first."""

from __future__ import annotations

import base64
import binascii

from shared.errors import InvalidRequestError
from shared.http_fields import INT8_MAX


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        seq = int(text.decode("ascii"))
    except (ValueError, binascii.Error):
        seq = -1
    # A seq is a bigint we gave out; anything else (a NUL, a huge number) never reaches SQL.
    if not 0 <= seq <= INT8_MAX or encode_cursor(seq) != cursor:
        raise InvalidRequestError(
            "The cursor is not one this API gave out; start again without it.", field="cursor"
        )
    return seq
