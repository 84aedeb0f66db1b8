"""REPORTING_SECRETS_KEY: the key of the chat bot tokens, refused when it is the published one."""

from __future__ import annotations

import pytest

from reporting.settings import SECRETS_KEY
from shared.secret_box import SecretKeyError


def test_the_dev_secrets_key_is_refused_outside_dev_mode() -> None:
    with pytest.raises(SecretKeyError, match="REPORTING_SECRETS_KEY"):
        SECRETS_KEY.keys(None, dev_mode=False)
    with pytest.raises(SecretKeyError, match="dev key"):
        SECRETS_KEY.keys(SECRETS_KEY.dev_key, dev_mode=False)
    assert SECRETS_KEY.keys(None, dev_mode=True) == SECRETS_KEY.dev_key
    box = SECRETS_KEY.box(None, dev_mode=True)
    assert box.open(box.seal("123:abc")) == "123:abc"
    with pytest.raises(
        SecretKeyError, match="REPORTING_SECRETS_KEY: key 1 of 1 is not a Fernet key"
    ):
        SECRETS_KEY.box("too-short", dev_mode=False)
