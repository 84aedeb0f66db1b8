from __future__ import annotations

import time
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth import (
    DEV_PRIVATE_KEY,
    DEV_PUBLIC_KEY,
    KeyConfigurationError,
    Role,
    TokenIssuer,
    TokenVerifier,
    private_key_for,
    public_key_for,
)
from shared.problems import Problem


def test_the_dev_key_is_refused_outside_dev_mode() -> None:
    with pytest.raises(KeyConfigurationError, match="published dev key"):
        public_key_for(DEV_PUBLIC_KEY, dev_mode=False)
    with pytest.raises(KeyConfigurationError, match="no production JWT public key"):
        public_key_for(None, dev_mode=False)
    assert public_key_for(None, dev_mode=True) == DEV_PUBLIC_KEY


def test_the_advice_on_a_missing_key_names_variables_that_work() -> None:
    # Each service reads its own prefix: a bare DEV_MODE=true changes nothing.
    with pytest.raises(
        KeyConfigurationError, match="set ORDERS_JWT_PUBLIC_KEY, or ORDERS_DEV_MODE="
    ):
        public_key_for(None, dev_mode=False, env_prefix="ORDERS_")
    with pytest.raises(KeyConfigurationError, match="<SERVICE>_JWT_PRIVATE_KEY, or <SERVICE>_DEV"):
        private_key_for(None, dev_mode=False)


def _other_key_pair() -> tuple[str, str]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_a_production_key_verifies_its_own_tokens_only() -> None:
    private, public = _other_key_pair()
    assert public_key_for(public, dev_mode=False) == public
    verifier = TokenVerifier(public)
    tenant = uuid.uuid4()
    token = TokenIssuer(private).issue(subject="till", tenant_id=tenant, role=Role.CASHIER)
    assert verifier.verify(token).tenant_id == tenant
    dev_token = TokenIssuer(DEV_PRIVATE_KEY).issue(subject="x", tenant_id=tenant, role=Role.ADMIN)
    with pytest.raises(Problem) as refused:
        verifier.verify(dev_token)
    assert refused.value.status == 401


def test_a_revoked_token_is_refused() -> None:
    verifier = TokenVerifier(DEV_PUBLIC_KEY)
    token_id = uuid.uuid4()
    token = TokenIssuer(DEV_PRIVATE_KEY).issue(
        subject="till",
        tenant_id=uuid.uuid4(),
        role=Role.CASHIER,
        token_id=token_id,
        ttl=timedelta(minutes=5),
    )
    verifier.revoke(token_id)
    with pytest.raises(Problem, match="revoked"):
        verifier.verify(token)


def _till_token(token_id: uuid.UUID, ttl: timedelta = timedelta(minutes=5)) -> str:
    return TokenIssuer(DEV_PRIVATE_KEY).issue(
        subject="till", tenant_id=uuid.uuid4(), role=Role.CASHIER, token_id=token_id, ttl=ttl
    )


def test_a_token_revoked_after_it_was_verified_is_refused() -> None:
    verifier = TokenVerifier(DEV_PUBLIC_KEY)
    token_id = uuid.uuid4()
    token = _till_token(token_id)
    assert verifier.verify(token).jti == token_id
    verifier.revoke(token_id)
    with pytest.raises(Problem, match="revoked") as refused:
        verifier.verify(token)
    assert refused.value.status == 401


def test_a_verified_token_is_checked_again_once_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = TokenVerifier(DEV_PUBLIC_KEY)
    token = _till_token(uuid.uuid4(), ttl=timedelta(minutes=5))
    verifier.verify(token)
    later = time.time() + timedelta(minutes=6).total_seconds()
    monkeypatch.setattr(time, "time", lambda: later)

    def expired(*_: object, **__: object) -> None:
        # PyJWT reads its own clock; six minutes on, it finds the token expired.
        raise jwt.ExpiredSignatureError("Signature has expired")

    monkeypatch.setattr(jwt, "decode", expired)
    with pytest.raises(Problem, match="expired") as refused:
        verifier.verify(token)
    assert refused.value.status == 401


def test_a_full_verifier_forgets_its_oldest_tokens_but_still_verifies_them() -> None:
    verifier = TokenVerifier(DEV_PUBLIC_KEY, verified_tokens_kept=2)
    ids = [uuid.uuid4() for _ in range(3)]
    tokens = [_till_token(token_id) for token_id in ids]
    for token in tokens:
        verifier.verify(token)
    assert [verifier.verify(token).jti for token in tokens] == ids
    verifier.revoke(ids[0])
    with pytest.raises(Problem, match="revoked"):
        verifier.verify(tokens[0])
