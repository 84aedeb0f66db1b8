"""Ids derived from what they name, and a request's fingerprint, so a replay is recognised."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any
from uuid import UUID

from pydantic import BaseModel

# Line and payment ids are derived, so a replayed order gets the same ones.
_ID_NAMESPACE = uuid.UUID("6f1c6a52-3f7e-4d59-9b0e-2f4a7c1d8e90")


def derived_id(*parts: object) -> UUID:
    return uuid.uuid5(_ID_NAMESPACE, ":".join(str(p) for p in parts))


# Fields added after orders were first stored, on the order and on its lines: left out when
# empty, so an order stored before them still matches its replay. A field added later joins these.
_LATER_ORDER_FIELDS = ("customer_id",)
_LATER_LINE_FIELDS = ("product_id",)


def _drop_empty(content: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if name in content and content[name] is None:
            del content[name]


def fingerprint(body: BaseModel) -> str:
    content = body.model_dump(mode="json")
    _drop_empty(content, _LATER_ORDER_FIELDS)
    for line in content.get("lines") or ():
        if isinstance(line, dict):
            _drop_empty(line, _LATER_LINE_FIELDS)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
