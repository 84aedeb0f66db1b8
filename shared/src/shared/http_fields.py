"""Field types for HTTP request bodies: what Postgres would refuse is refused first, with a 422
that names the field and says what to do."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr

INT4_MIN = -(2**31)
INT4_MAX = 2**31 - 1
INT8_MIN = -(2**63)
INT8_MAX = 2**63 - 1

NUL_MESSAGE = "must not contain a NUL character (\\u0000); remove it"


def _without_nul(value: Any) -> Any:
    # Postgres text cannot hold U+0000. Checked before the other constraints, so a NUL is
    # reported as such even where a pattern or a length would also refuse the value.
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(NUL_MESSAGE)
    return value


Text = Annotated[str, BeforeValidator(_without_nul)]
"""Any text a request carries; add `Field(min_length=..., max_length=...)` as the column needs."""

SecretText = Annotated[SecretStr, BeforeValidator(_without_nul)]

OdooId = Annotated[int, Field(gt=0, le=INT4_MAX, json_schema_extra={"format": "int32"})]
"""An Odoo record id: Odoo's ids are Postgres integers, and so are the columns that keep them."""
