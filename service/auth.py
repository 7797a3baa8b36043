"""Bearer-token handling for scenario users: keep a token, renew it before it expires."""

from __future__ import annotations

import time
from typing import Any

# Renew when this share of the token's lifetime has passed, so no request carries a stale one.
RENEW_AT_SHARE = 0.9


class BearerAuth:
    """Mixin for a Locust user that logs in with `login()` and sends `self.headers`.

    `headers` calls `login()` again when the token is about to expire or after
    `forget_token()` (e.g. on a 401), so a user whose login failed or whose token was
    revoked recovers by itself instead of failing forever.
    """

    _auth_headers: dict[str, str] = {}
    _renew_at: float = 0.0

    def login(self) -> None:
        raise NotImplementedError

    @property
    def headers(self) -> dict[str, str]:
        if time.monotonic() >= self._renew_at:
            self.login()
        return self._auth_headers

    def accept_token(self, response: Any) -> bool:
        """Keep the token of a successful login response; False if it carries none."""
        try:
            body = response.json()
            token = body["access_token"]
            lifetime_s = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError, AttributeError):
            return False
        self._auth_headers = {"Authorization": f"Bearer {token}"}
        self._renew_at = time.monotonic() + lifetime_s * RENEW_AT_SHARE
        return True

    def forget_token(self) -> None:
        self._renew_at = 0.0
