"""Which format and encoding a scrape gets, from its Accept and Accept-Encoding headers.

Prometheus states its preferences with q-values (protobuf first when native histograms are
enabled, then OpenMetrics, then text); the highest q the service can serve wins, ties going to
the richer format. No usable Accept gets the text format, as every Prometheus client does.
"""

from __future__ import annotations

from enum import Enum

from service.metrics.exposition.protobuf import PROTOBUF_CONTENT_TYPE
from service.metrics.exposition.text import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE


class Format(Enum):
    # In order of preference when the scraper likes several equally.
    PROTOBUF = PROTOBUF_CONTENT_TYPE
    OPENMETRICS = OPENMETRICS_CONTENT_TYPE
    TEXT = TEXT_CONTENT_TYPE

    @property
    def content_type(self) -> str:
        return self.value


def _ranges(header: str) -> list[tuple[str, dict[str, str], float]]:
    """(item, parameters, q) of each entry of a comma-separated header."""
    ranges = []
    for entry in header.split(","):
        item, *params = (part.strip() for part in entry.split(";"))
        parameters = {}
        for param in params:
            key, _, value = param.partition("=")
            parameters[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(parameters.pop("q", "1"))
        except ValueError:
            q = 0.0
        if item:
            ranges.append((item.lower(), parameters, q if 0 <= q <= 1 else 0.0))
    return ranges


def _format_of(media_type: str, parameters: dict[str, str]) -> Format | None:
    if media_type == "application/vnd.google.protobuf":
        if (
            parameters.get("proto") == "io.prometheus.client.MetricFamily"
            and parameters.get("encoding") == "delimited"
        ):
            return Format.PROTOBUF
        return None
    if media_type == "application/openmetrics-text":
        return Format.OPENMETRICS
    if media_type in ("text/plain", "text/*", "*/*"):
        return Format.TEXT
    return None


def choose_format(accept: str) -> Format:
    best: tuple[float, int] | None = None
    chosen = Format.TEXT
    preference = list(Format)
    for media_type, parameters, q in _ranges(accept):
        found = _format_of(media_type, parameters)
        if found is None or q <= 0:
            continue
        rank = (q, -preference.index(found))
        if best is None or rank > best:
            best, chosen = rank, found
    return chosen


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether gzip may be used: named (or `*`) with a q above 0, and not refused by name."""
    codings = {coding: q for coding, _params, q in _ranges(accept_encoding)}
    if "gzip" in codings:
        return codings["gzip"] > 0
    return codings.get("*", 0) > 0
