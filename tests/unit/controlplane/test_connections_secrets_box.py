"""The secrets box: Fernet encryption of stored secrets, its keys and their rotation."""

from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from dqplatform.controlplane.secrets_box import (
    SecretsBox,
    SecretsKeyError,
    SecretUnreadable,
    split_keys,
)
from tests.conftest import SettingsFactory

LONG_SECRET = "a-long-enough-passphrase-of-40-chars-...."


def test_round_trip_is_encrypted_and_not_deterministic() -> None:
    box = SecretsBox([LONG_SECRET])
    first, second = box.encrypt("hunter2-password"), box.encrypt("hunter2-password")
    assert "hunter2" not in first
    assert first != second  # a fresh IV each time: equal passwords do not look equal
    assert box.decrypt(first) == box.decrypt(second) == "hunter2-password"
    assert box.decrypt(box.encrypt("ünïcode ✓")) == "ünïcode ✓"
    assert LONG_SECRET not in repr(box)


def test_a_fernet_key_is_used_as_is() -> None:
    key = Fernet.generate_key().decode()
    token = SecretsBox([key]).encrypt("pw")
    # Anyone holding the key can read it with plain Fernet: no hidden derivation.
    assert Fernet(key.encode()).decrypt(token.encode()) == b"pw"


def test_a_passphrase_is_derived_the_same_way_every_time() -> None:
    token = SecretsBox([LONG_SECRET]).encrypt("pw")
    assert SecretsBox([LONG_SECRET]).decrypt(token) == "pw"
    with pytest.raises(SecretUnreadable):
        SecretsBox([LONG_SECRET + "x"]).decrypt(token)


def test_bad_keys_are_refused() -> None:
    with pytest.raises(SecretsKeyError, match="at least 32"):
        SecretsBox(["short"])
    with pytest.raises(SecretsKeyError):
        SecretsBox([])
    with pytest.raises(SecretsKeyError):
        SecretsBox(split_keys(" , "))


def test_garbage_is_unreadable_not_a_crash() -> None:
    box = SecretsBox([LONG_SECRET])
    for garbage in ("", "not a token", "gAAAAA" + "x" * 50, "ünï"):
        with pytest.raises(SecretUnreadable):
            box.decrypt(garbage)


def test_rotation_keeps_old_secrets_readable() -> None:
    old, new = "o" * 32, "n" * 32
    token = SecretsBox([old]).encrypt("pw")
    rotating = SecretsBox(split_keys(f" {new} , {old} "))
    assert rotating.key_count == 2
    assert rotating.decrypt(token) == "pw"
    # New secrets and rotated ones are under the new key only.
    assert SecretsBox([new]).decrypt(rotating.encrypt("pw2")) == "pw2"
    rotated = rotating.rotate(token)
    assert SecretsBox([new]).decrypt(rotated) == "pw"
    with pytest.raises(SecretUnreadable):
        SecretsBox([old]).decrypt(rotated)
    with pytest.raises(SecretUnreadable):
        SecretsBox([new]).rotate(token)


def test_the_key_is_generated_once_in_the_data_dir(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    token = SecretsBox.from_settings(settings).encrypt("pw")
    key_file = settings.data_dir / "secrets_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32
    # Another process (a new Settings) finds the same key.
    assert SecretsBox.from_settings(make_settings()).decrypt(token) == "pw"


def test_the_configured_key_wins(make_settings: SettingsFactory) -> None:
    settings = make_settings(secrets_key=SecretStr(LONG_SECRET))
    token = SecretsBox.from_settings(settings).encrypt("pw")
    assert not (settings.data_dir / "secrets_key").exists()
    assert SecretsBox([LONG_SECRET]).decrypt(token) == "pw"
    with pytest.raises(SecretsKeyError):
        SecretsBox.from_settings(make_settings(secrets_key=SecretStr("too short")))
