"""The secret box: keys rotate (the first seals, every one opens); a bad key names its setting."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from shared.secret_box import KeySetting, SecretBox, SecretKeyError

SETTING = "SHOP_SECRETS_KEY"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
DEV_KEY = Fernet.generate_key().decode()


def test_a_secret_sealed_under_the_old_key_opens_after_a_new_key_is_put_first() -> None:
    sealed = SecretBox(OLD_KEY, SETTING).seal("bot:token")
    assert SecretBox(f"{NEW_KEY},{OLD_KEY}", SETTING).open(sealed) == "bot:token"


def test_a_new_key_put_first_seals_what_is_saved_from_then_on() -> None:
    sealed = SecretBox(f"{NEW_KEY}, {OLD_KEY}", SETTING).seal("bot:token")
    assert SecretBox(NEW_KEY, SETTING).open(sealed) == "bot:token"
    with pytest.raises(SecretKeyError):
        SecretBox(OLD_KEY, SETTING).open(sealed)


def test_a_replica_listing_the_new_key_second_opens_what_the_others_seal_under_it() -> None:
    sealed = SecretBox(f"{NEW_KEY},{OLD_KEY}", SETTING).seal("bot:token")
    assert SecretBox(f"{OLD_KEY},{NEW_KEY}", SETTING).open(sealed) == "bot:token"


def test_rotate_seals_again_under_the_new_key_so_the_old_one_can_be_retired() -> None:
    sealed = SecretBox(OLD_KEY, SETTING).seal("odoo-password")
    rotated = SecretBox(f"{NEW_KEY},{OLD_KEY}", SETTING).rotate(sealed)
    assert SecretBox(NEW_KEY, SETTING).open(rotated) == "odoo-password"


def test_what_is_stored_as_bytes_opens_and_rotates_like_text() -> None:
    sealed = SecretBox(OLD_KEY, SETTING).seal("odoo-password").encode()
    box = SecretBox(f"{NEW_KEY},{OLD_KEY}", SETTING)
    assert box.open(sealed) == "odoo-password"
    assert box.open(box.rotate(sealed)) == "odoo-password"


def test_a_malformed_key_names_the_setting_and_its_place_but_not_the_key() -> None:
    with pytest.raises(
        SecretKeyError, match=f"{SETTING}: key 2 of 2 is not a Fernet key"
    ) as raised:
        SecretBox(f"{NEW_KEY},not-a-key", SETTING)
    assert "not-a-key" not in str(raised.value)
    assert raised.value.__cause__ is None


def test_a_setting_without_any_key_is_refused_by_name() -> None:
    with pytest.raises(SecretKeyError, match=f"{SETTING} holds no key"):
        SecretBox(" , ", SETTING)


def test_a_secret_sealed_under_a_key_no_longer_listed_says_which_setting_to_fix() -> None:
    sealed = SecretBox(OLD_KEY, SETTING).seal("bot:token")
    with pytest.raises(SecretKeyError, match=f"no key of {SETTING}"):
        SecretBox(NEW_KEY, SETTING).open(sealed)


SHOP_KEY = KeySetting("SHOP_", "SECRETS_KEY", dev_key=DEV_KEY)


def test_without_a_configured_key_dev_mode_takes_the_published_one_and_production_refuses() -> None:
    assert SHOP_KEY.keys(None, dev_mode=True) == DEV_KEY
    with pytest.raises(SecretKeyError, match=r"SHOP_SECRETS_KEY.*SHOP_DEV_MODE=true"):
        SHOP_KEY.keys(None, dev_mode=False)
    with pytest.raises(SecretKeyError, match="SHOP_SECRETS_KEY"):
        SHOP_KEY.keys("", dev_mode=False)


def test_production_refuses_the_dev_key_first_but_lets_it_open_what_it_sealed() -> None:
    with pytest.raises(SecretKeyError, match="dev key"):
        SHOP_KEY.keys(DEV_KEY, dev_mode=False)
    sealed_in_dev = SHOP_KEY.box(None, dev_mode=True).seal("bot:token")
    moving_off = SHOP_KEY.box(f"{NEW_KEY},{DEV_KEY}", dev_mode=False)
    assert SecretBox(NEW_KEY, SETTING).open(moving_off.rotate(sealed_in_dev)) == "bot:token"


def test_a_single_key_as_configured_before_rotation_keeps_working() -> None:
    assert SHOP_KEY.keys(f" {OLD_KEY} ", dev_mode=False) == OLD_KEY
    sealed = SecretBox(OLD_KEY, SETTING).seal("bot:token")
    assert SHOP_KEY.box(OLD_KEY, dev_mode=False).open(sealed) == "bot:token"
