"""Signed, expiring bearer tokens (HMAC-SHA256 over a compact JSON claim set)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from sandbox.accounts import Account


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: str, ttl_s: float) -> None:
        self._key = secret.encode()
        self.ttl_s = ttl_s

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(self, account: Account, now: float | None = None) -> str:
        now = time.time() if now is None else now
        claims = {
            "sub": account.username,
            "role": account.role,
            "tenant": account.tenant,
            "exp": now + self.ttl_s,
        }
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: float | None = None) -> Account | None:
        """The account a token was issued to, or None if it is forged, malformed or expired."""
        payload, _, signature = token.partition(".")
        if not signature or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            claims = json.loads(_unb64(payload))
            expires = float(claims["exp"])
            account = Account(str(claims["sub"]), str(claims["role"]), str(claims["tenant"]))
        except (ValueError, KeyError, TypeError):
            return None
        if (time.time() if now is None else now) >= expires:
            return None
        return account
