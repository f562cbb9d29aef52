"""Credentials of county systems: a random secret shown once, stored as an HMAC."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX = "gi_"  # recognisable in a secret scanner's rules, like reporting's tokens


@dataclass(frozen=True)
class Credential:
    credential_id: int
    county_code: str | None  # None: any county (the dashboard's own credential)
    label: str
    rate: str | None

    def may_publish_for(self, county_code: str) -> bool:
        return self.county_code is None or self.county_code == county_code


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def secret_hash(secret: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def bearer(authorization: str | None) -> str | None:
    """The secret of an `Authorization: Bearer …` header, or None."""
    scheme, _, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None
