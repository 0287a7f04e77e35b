"""Token signing (RS256, one key with a kid) and validation."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .store import Store

TOKEN_LIFETIME = 3600


def _b64url_uint(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Signer:
    """The login service's signing key, kept in the store so tokens survive restarts."""

    def __init__(self, store: Store) -> None:
        pem = store.get_meta("key:signing")
        if pem is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            store.set_meta("key:signing", pem)
        self._key = serialization.load_pem_private_key(pem.encode(), password=None)
        self.public_key = self._key.public_key()
        numbers = self.public_key.public_numbers()
        self.kid = (
            base64.urlsafe_b64encode(hashlib.sha256(str(numbers.n).encode()).digest()[:15])
            .rstrip(b"=")
            .decode()
        )
        self.jwk = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "alg": "RS256",
        }

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims, self._key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid}
        )

    def verify(self, token: str, audience: str | list[str]) -> dict[str, Any]:
        """Claims of a valid token; raises jwt.InvalidTokenError with a reason otherwise."""
        header = jwt.get_unverified_header(token)
        if header.get("kid") != self.kid:
            raise jwt.InvalidTokenError("Signing key not found (unknown kid).")
        return jwt.decode(
            token,
            self.public_key,
            algorithms=["RS256"],
            audience=audience,
            leeway=30,
            options={"require": ["exp", "iat", "aud", "tid"]},
        )


def access_token_claims(
    *,
    tid: str,
    aud: str,
    app_id: str,
    app_name: str,
    subject_oid: str,
    roles: list[str] | None = None,
    scp: list[str] | None = None,
    user: dict[str, Any] | None = None,
    lifetime: int = TOKEN_LIFETIME,
) -> dict[str, Any]:
    """v1.0-shaped resource tokens, as Graph and ACS receive them from Entra."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": aud,
        "iss": f"https://sts.windows.net/{tid}/",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "appid": app_id,
        "azp": app_id,
        "app_displayname": app_name,
        "appidacr": "1",
        "idp": f"https://sts.windows.net/{tid}/",
        "oid": subject_oid,
        "sub": subject_oid,
        "tid": tid,
        "uti": uuid.uuid4().hex[:22],
        "ver": "1.0",
    }
    if roles is not None:
        # Entra omits empty claims: an app token with no app role has no ``roles`` at all.
        if roles:
            claims["roles"] = roles
        claims["idtyp"] = "app"
    if scp is not None:
        claims["scp"] = " ".join(scp)
        claims["idtyp"] = "user"
    if user:
        claims.update(
            name=user["displayName"],
            upn=user["userPrincipalName"],
            unique_name=user["userPrincipalName"],
            given_name=user.get("givenName"),
            family_name=user.get("surname"),
            amr=["pwd"],
        )
    return claims


def id_token_claims(
    *, login_url: str, tid: str, client_id: str, user: dict[str, Any], nonce: str | None
) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": client_id,
        "iss": f"{login_url}/{tid}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME,
        "name": user["displayName"],
        "oid": user["id"],
        "preferred_username": user["userPrincipalName"],
        "email": user.get("mail"),
        "sub": hashlib.sha256(f"{user['id']}:{client_id}".encode()).hexdigest()[:43],
        "tid": tid,
        "ver": "2.0",
    }
    if nonce:
        claims["nonce"] = nonce
    return claims
