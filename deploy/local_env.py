"""`python -m deploy.local_env`: writes deploy/.env for `make up` from deploy/env.example, each
`change-me` replaced by a fresh key or password; an existing deploy/.env is left alone."""

from __future__ import annotations

import base64
import os
import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEPLOY = Path(__file__).resolve().parent
EXAMPLE = DEPLOY / "env.example"
PLACEHOLDER = "change-me"
_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _password() -> str:
    return secrets.token_urlsafe(24)


def _one_line(pem: bytes) -> str:
    """A PEM as one double-quoted dotenv value, its newlines written \\n."""
    return '"' + pem.decode().replace("\n", "\\n") + '"'


def fresh_values() -> dict[str, str]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "JWT_PRIVATE_KEY": _one_line(private),
        "JWT_PUBLIC_KEY": _one_line(public),
        "CONNECTOR_CREDENTIALS_KEY": _fernet_key(),
        "REPORTING_SECRETS_KEY": _fernet_key(),
    }


def render(example: str, values: dict[str, str]) -> str:
    """The example with each placeholder replaced: by `values`, else by a fresh password."""
    lines = []
    for line in example.splitlines():
        match = _LINE.match(line)
        if match and match.group(2).strip('"') == PLACEHOLDER:
            name = match.group(1)
            line = f"{name}={values.get(name) or _password()}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def write_env(target: Path) -> bool:
    """Writes `target` (readable by its owner only) unless it exists; True if it wrote it."""
    if target.exists():
        return False
    text = render(EXAMPLE.read_text(), fresh_values())
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    return True


def main() -> None:
    target = DEPLOY / ".env"
    if write_env(target):
        print(f"wrote {target.relative_to(DEPLOY.parent)} with fresh keys and passwords")


if __name__ == "__main__":
    main()
