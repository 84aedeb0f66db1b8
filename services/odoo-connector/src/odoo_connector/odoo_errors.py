"""What an Odoo call can end in besides a result, as the JSON-RPC client raises it; kept apart
from the client so the domain classifies these without importing a transport."""

from __future__ import annotations


class OdooUnavailable(Exception):  # noqa: N818 - a state of the endpoint, not a bug
    """No usable answer from the endpoint (transport failure, timeout, 5xx)."""


class OdooProtocolError(Exception):
    """Odoo answered in a way that cannot change by retrying (a 4xx page, a non-JSON-RPC body)."""


class OdooError(Exception):
    """Odoo ran the call and answered with an error object."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


class UnsupportedOdooVersion(Exception):  # noqa: N818
    pass
