"""CONNECTOR_CREDENTIALS_KEY: the keys that seal the tenants' Odoo secrets at rest in the shared
secret box (Fernet: AES-128-CBC with an HMAC)."""

from __future__ import annotations

from odoo_connector.settings import ConnectorSettings
from shared.secret_box import KeySetting, SecretBox

CREDENTIALS_KEY = KeySetting(
    "CONNECTOR_", "CREDENTIALS_KEY", dev_key="1NEBpsi0-fjIflIXOYA4ZM7OUqvk07XuP5F-Dlxu_nc="
)


def credentials_box(settings: ConnectorSettings) -> SecretBox:
    return CREDENTIALS_KEY.box(settings.credentials_key, settings.dev_mode)
