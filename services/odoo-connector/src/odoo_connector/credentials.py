"""Encryption of the tenants' Odoo secrets at rest (Fernet: AES-128-CBC with an HMAC)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

# Public knowledge, like shared.auth's dev key pair: only for `make run` and the tests.
DEV_CREDENTIALS_KEY = "1NEBpsi0-fjIflIXOYA4ZM7OUqvk07XuP5F-Dlxu_nc="


class CredentialsKeyError(RuntimeError):
    pass


def credentials_key_for(configured: str | None, dev_mode: bool) -> str:
    """The key to use, refusing the dev key (or none) outside dev mode."""
    if configured is None or configured.strip() == DEV_CREDENTIALS_KEY:
        if not dev_mode:
            raise CredentialsKeyError(
                "no production credentials key is configured (or it is the published dev key); "
                "set CONNECTOR_CREDENTIALS_KEY to a Fernet key "
                "(python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'), "
                "or CONNECTOR_DEV_MODE=true for a local run"
            )
        return DEV_CREDENTIALS_KEY
    try:
        Fernet(configured.strip().encode())
    except ValueError as error:
        raise CredentialsKeyError(
            f"CONNECTOR_CREDENTIALS_KEY is not a Fernet key ({error})"
        ) from None
    return configured.strip()


class SecretBox:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            raise CredentialsKeyError(
                "a stored Odoo secret cannot be decrypted with the configured key; "
                "was CONNECTOR_CREDENTIALS_KEY changed? Store the tenant's settings again"
            ) from None
