"""Secrets at rest (a chat bot's token, a tenant's Odoo password) sealed with Fernet under keys
that rotate: a key setting holds one key or several, comma-separated; the first seals, every one
opens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

MAKE_A_KEY = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class SecretKeyError(RuntimeError):
    """A key setting that cannot seal or open what it must; the message names the setting."""


def _keys_in(configured: str) -> list[str]:
    return [key.strip() for key in configured.split(",") if key.strip()]


class SecretBox:
    """Seals under the first of `keys` and opens what any of them sealed."""

    def __init__(self, keys: str, setting: str) -> None:
        listed = _keys_in(keys)
        if not listed:
            raise SecretKeyError(f"{setting} holds no key; set it to a Fernet key ({MAKE_A_KEY})")
        fernets = []
        for position, key in enumerate(listed, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except ValueError:
                # `from None`: the chained error would sit in logs beside the rejected key.
                raise SecretKeyError(
                    f"{setting}: key {position} of {len(listed)} is not a Fernet key "
                    f"(32 url-safe base64-encoded bytes; make one with {MAKE_A_KEY})"
                ) from None
        self._fernet = MultiFernet(fernets)
        self._setting = setting

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str | bytes) -> str:
        return self._opened(sealed, self._fernet.decrypt).decode()

    def rotate(self, sealed: str | bytes) -> str:
        """`sealed` sealed again under the first key, so the keys after it can be retired."""
        return self._opened(sealed, self._fernet.rotate).decode()

    def _opened(self, sealed: str | bytes, open_with: Callable[[bytes], bytes]) -> bytes:
        try:
            return open_with(sealed.encode() if isinstance(sealed, str) else sealed)
        except InvalidToken:
            raise SecretKeyError(
                f"a stored secret opens with no key of {self._setting}: the key it was sealed "
                "under is no longer listed; list it again after the first key, or save the "
                "secret again"
            ) from None


@dataclass(frozen=True)
class KeySetting:
    """A service's setting of secret box keys, and the published key it takes in dev mode."""

    env_prefix: str
    name: str
    # Public knowledge, like the dev JWT key pair: fine for `make run` and tests only.
    dev_key: str

    @property
    def variable(self) -> str:
        """The environment variable, such as `REPORTING_SECRETS_KEY`."""
        return f"{self.env_prefix}{self.name}"

    def keys(self, configured: str | None, dev_mode: bool) -> str:
        """The configured keys once each is a Fernet key; the dev key when none is configured
        in dev mode. Outside dev mode the dev key may stay listed to open what it sealed, but
        never first, where it would seal."""
        listed = _keys_in(configured or "")
        if not listed or listed[0] == self.dev_key:
            if not dev_mode:
                raise SecretKeyError(
                    f"no production key is configured in {self.variable} (or the published dev "
                    f"key is its first); set it to a Fernet key ({MAKE_A_KEY}), "
                    f"or {self.env_prefix}DEV_MODE=true for a local run"
                )
            if not listed:
                return self.dev_key
        checked = ",".join(listed)
        SecretBox(checked, self.variable)
        return checked

    def box(self, configured: str | None, dev_mode: bool) -> SecretBox:
        return SecretBox(self.keys(configured, dev_mode), self.variable)
