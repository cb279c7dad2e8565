"""Encryption at rest for channel credentials (Fernet, key from TOKEN_ENCRYPTION_KEY).

Outside production a key is derived from SECRET_KEY so a newcomer needs no setup; production refuses to
start without an explicit key (see Config). Several comma-separated keys rotate: the first encrypts, all
decrypt (MultiFernet).
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


class CredentialsError(RuntimeError):
    """Stored credentials cannot be decrypted with the configured keys."""


def _derived_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(("token-key:" + secret).encode()).digest())


def build_cipher(config: dict[str, Any]) -> MultiFernet:
    raw = config.get("TOKEN_ENCRYPTION_KEY") or ""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        if config.get("ENV_NAME") == "production":
            raise RuntimeError("TOKEN_ENCRYPTION_KEY is required in production: generate one with "
                               "`python -c 'from cryptography.fernet import Fernet; "
                               "print(Fernet.generate_key().decode())'`")
        keys = [_derived_key(config["SECRET_KEY"]).decode()]
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except (ValueError, TypeError) as exc:
        raise RuntimeError("TOKEN_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64 bytes)") from exc


def init_app(app: Flask) -> None:
    app.extensions["token_cipher"] = build_cipher(app.config)


def _cipher() -> MultiFernet:
    return current_app.extensions["token_cipher"]


def encrypt_json(value: dict[str, Any]) -> str:
    return _cipher().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    try:
        return json.loads(_decrypt(_cipher(), token))
    except InvalidToken as exc:
        raise CredentialsError("stored credentials cannot be decrypted with TOKEN_ENCRYPTION_KEY") from exc


@lru_cache(maxsize=1024)
def _decrypt(cipher: MultiFernet, token: str) -> bytes:
    """A channel's credentials are decrypted every time its row is loaded (twice per conversation turn);
    the same token under the same keys always decrypts to the same bytes, so a worker does it once.
    Keyed by the cipher: other keys (rotation, another app) never share an entry. A failure is not cached."""
    return cipher.decrypt(token.encode())


class EncryptedJSON(TypeDecorator[dict]):
    """A dict stored as one Fernet token: the raw column never holds plaintext secrets."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: dict | None, dialect: Any) -> str | None:
        return None if value is None else encrypt_json(value)

    def process_result_value(self, value: str | None, dialect: Any) -> dict | None:
        return None if value is None else decrypt_json(value)
