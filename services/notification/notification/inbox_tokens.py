"""Tokens that open one organisation's inbox: `gri_<org_id>.<signature>`, the signature being
HMAC-SHA256(INBOX_TOKEN_SECRET, org_id), base64url. Nothing is stored: the county office
issues them (`python -m notification.cli inbox-token <org_id>`), and rotating the secret
revokes them all."""

from __future__ import annotations

import base64
import hashlib
import hmac

PREFIX = "gri_"


def _signature(secret: str, org_id: str) -> str:
    mac = hmac.new(secret.encode(), b"inbox\x1f" + org_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def issue(secret: str, org_id: str) -> str:
    return f"{PREFIX}{org_id}.{_signature(secret, org_id)}"


def org_of(secret: str, token: str) -> str | None:
    """The organisation whose inbox a genuine token opens; None for anything else."""
    if not token.startswith(PREFIX):
        return None
    org_id, dot, signature = token[len(PREFIX) :].rpartition(".")
    if not dot or not org_id:
        return None
    return org_id if hmac.compare_digest(signature, _signature(secret, org_id)) else None
