"""Ids derived from what they name, and a request's fingerprint, so a replay is recognised."""

from __future__ import annotations

import hashlib
import json
import uuid
from uuid import UUID

from pydantic import BaseModel

# Line and payment ids are derived, so a replayed order gets the same ones.
_ID_NAMESPACE = uuid.UUID("6f1c6a52-3f7e-4d59-9b0e-2f4a7c1d8e90")


def derived_id(*parts: object) -> UUID:
    return uuid.uuid5(_ID_NAMESPACE, ":".join(str(p) for p in parts))


def fingerprint(body: BaseModel) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
