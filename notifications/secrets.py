"""Webhook signing secrets: made here, stored encrypted, shown to a person once.

Standard Webhooks secrets are ``whsec_`` + base64 of random bytes (24 to 64 bytes). Signing
needs the secret itself, so it cannot be hashed; it is encrypted with a key derived from
``DJANGO_SECRET_KEY`` (HKDF-SHA256), so a database dump alone does not reveal it. Changing
``DJANGO_SECRET_KEY`` makes the stored secrets unreadable: rotate each endpoint's secret then.
"""

from __future__ import annotations

import base64
import secrets as random

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


def _fernet() -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"notifications.webhook-secret"
    ).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
