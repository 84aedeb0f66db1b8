"""Encrypts chat bot tokens at rest (Fernet), refusing the published dev key outside dev mode."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

# Public knowledge, like the dev JWT key: fine for `make run` and tests, refused in production.
DEV_SECRETS_KEY = "ZGV2LW9ubHktcmVwb3J0aW5nLWtleS1ub3Qtc2VjcmU="


class SecretsKeyError(RuntimeError):
    pass


def secrets_key_for(configured: str | None, dev_mode: bool) -> str:
    """The key to use, refusing the dev key (or none) outside dev mode."""
    if configured is None or configured.strip() == DEV_SECRETS_KEY:
        if not dev_mode:
            raise SecretsKeyError(
                "no production secrets key is configured (or it is the published dev key); "
                "set REPORTING_SECRETS_KEY to a Fernet key "
                "(python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'), or REPORTING_DEV_MODE=true locally"
            )
        return DEV_SECRETS_KEY
    return configured.strip()


class SecretBox:
    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except ValueError as error:
            raise SecretsKeyError(
                "REPORTING_SECRETS_KEY is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from error

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as error:
            raise SecretsKeyError(
                "a stored chat token cannot be decrypted: REPORTING_SECRETS_KEY changed since it "
                "was saved; save the chat settings again"
            ) from error
