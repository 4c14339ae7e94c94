"""The sender's private key to an item: a random secret shown once (only its hash is stored), and a signed
token for links in later messages (the answer e-mail), since the secret itself is not kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets as random

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..models import Complaint

_SALT = "pakn-lookup"


def new_secret() -> tuple[str, str]:
    """(secret for the sender, hash to store)."""
    secret = random.token_urlsafe(12)
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def link_token(complaint: Complaint) -> str:
    """A token that opens this item's private page, for messages sent after the receipt."""
    return URLSafeSerializer(current_app.secret_key, salt=_SALT).dumps(complaint.code)


def opens(complaint: Complaint, key: str) -> bool:
    """Whether a key from a link is this item's secret or a token signed for it (constant-time compare)."""
    if hmac.compare_digest(hash_secret(key), complaint.secret_hash):
        return True
    try:
        code = URLSafeSerializer(current_app.secret_key, salt=_SALT).loads(key)
    except BadSignature:
        return False
    return isinstance(code, str) and hmac.compare_digest(code, complaint.code or "")
