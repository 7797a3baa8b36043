"""Redaction, a structlog processor: no password, token, API key, Authorization header or
password inside a URL reaches a log line, whether it sits under a telling key or inside a
message."""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import Any

REDACTED = "[REDACTED]"
SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|api[_-]?key|authorization|cookie", re.I)
# A header or a value in free text: "Bearer abc.def", "Authorization: xyz", "api_key=xyz".
SECRET_IN_TEXT = re.compile(
    r"(?i)(bearer\s+|authorization[\"']?\s*[:=]\s*[\"']?(?:bearer\s+|basic\s+)?|"
    r"(?:password|passwd|api[_-]?key|token|secret)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"',}&]+"
)
# Credentials inside a URL: http://user:password@host -> http://user:[REDACTED]@host
URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@\"'<>]*:)[^@\s/\"'<>]+@")
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words


class Redactor:
    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        self.secret_values = sorted(
            {v for v in secret_values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True
        )

    def __call__(self, _logger: Any, _method: str, event_dict: MutableMapping) -> MutableMapping:
        for key, value in list(event_dict.items()):
            if key != "event" and SECRET_KEY.search(key):
                event_dict[key] = REDACTED
            elif isinstance(value, str):
                event_dict[key] = self.scrub(value)
        return event_dict

    def scrub(self, text: str) -> str:
        text = scrub_url_credentials(text)
        text = SECRET_IN_TEXT.sub(lambda m: m.group(1) + REDACTED, text)
        for secret in self.secret_values:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def scrub_url_credentials(text: str) -> str:
    return URL_CREDENTIALS.sub(lambda m: m.group(1) + REDACTED + "@", text)
