"""CONNECTOR_CREDENTIALS_KEY: the keys that seal the tenants' Odoo secrets at rest in the shared
secret box (Fernet: AES-128-CBC with an HMAC)."""

from __future__ import annotations

from odoo_connector.settings import ConnectorSettings
from shared import secret_box
from shared.secret_box import KeySetting

CREDENTIALS_KEY = KeySetting(
    "CONNECTOR_", "CREDENTIALS_KEY", dev_key="1NEBpsi0-fjIflIXOYA4ZM7OUqvk07XuP5F-Dlxu_nc="
)


def credentials_box(settings: ConnectorSettings) -> secret_box.SecretBox:
    return CREDENTIALS_KEY.box(settings.credentials_key, settings.dev_mode)


# Until bootstrap.py builds its box with `credentials_box(settings)`; then these two go.
def credentials_key_for(configured: str | None, dev_mode: bool) -> str:
    return CREDENTIALS_KEY.keys(configured, dev_mode)


class SecretBox(secret_box.SecretBox):
    def __init__(self, keys: str) -> None:
        super().__init__(keys, CREDENTIALS_KEY.variable)
