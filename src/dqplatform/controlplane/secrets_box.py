"""Encrypting stored secrets (connection passwords) with Fernet, with key rotation."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dqplatform.settings import Settings

MIN_SECRET_LENGTH = 32
# Changing this would make every stored secret unreadable.
_HKDF_INFO = b"dqplatform secrets box v1"


class SecretsKeyError(Exception):
    """DQP_SECRETS_KEY (or the generated key file) holds no usable key."""


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def _fernet_key(secret: str) -> bytes:
    """`secret` itself when it is a Fernet key, else a Fernet key derived from it."""
    try:
        if len(secret) == 44 and len(base64.urlsafe_b64decode(secret)) == 32:
            return secret.encode()
    except (binascii.Error, ValueError):
        pass
    if len(secret) < MIN_SECRET_LENGTH:
        raise SecretsKeyError(
            f"DQP_SECRETS_KEY: each key must be a Fernet key or at least "
            f"{MIN_SECRET_LENGTH} characters"
        )
    # Any long random secret (like the generated key file's) works: HKDF turns it into the
    # 32 bytes Fernet needs, the same way on every process.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(derived)


def split_keys(material: str) -> list[str]:
    """The comma-separated keys of DQP_SECRETS_KEY, newest (the one that encrypts) first."""
    return [key.strip() for key in material.split(",") if key.strip()]


class SecretsBox:
    """Encrypts with the first key; decrypts with any of them."""

    def __init__(self, keys: Sequence[str]):
        if not keys:
            raise SecretsKeyError("DQP_SECRETS_KEY: no key given")
        self._fernet = MultiFernet([Fernet(_fernet_key(key)) for key in keys])
        self.key_count = len(keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretsBox:
        return cls(split_keys(settings.encryption_secret))

    def __repr__(self) -> str:
        return f"SecretsBox({self.key_count} keys)"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with the configured DQP_SECRETS_KEY"
            ) from exc

    def rotate(self, token: str) -> str:
        """The same secret, encrypted again with the first key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with the configured DQP_SECRETS_KEY"
            ) from exc
