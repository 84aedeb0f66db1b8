"""Our broker topology (deploy/rabbitmq/definitions.json: exchanges, quorum queues with their
arguments, bindings, policy) put into a running RabbitMQ through its management API.

Not `load_definitions` at boot: a node that imports definitions at boot creates no default
user, and the compose broker's user comes from deploy/.env, which a committed file cannot hold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

DEFINITIONS = Path(__file__).resolve().parent / "rabbitmq" / "definitions.json"


def definitions() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DEFINITIONS.read_text())
    return loaded


def load_definitions(management_url: str, user: str, password: str) -> None:
    """Imports the file; what already exists as the file says is left as it is."""
    response = httpx.post(
        f"{management_url.rstrip('/')}/api/definitions",
        json=definitions(),
        auth=(user, password),
        timeout=60,
    )
    if response.status_code >= 300:
        raise RuntimeError(
            f"RabbitMQ refused the definitions ({response.status_code}): {response.text}"
        )
