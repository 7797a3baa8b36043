"""The target's build identity, read once a minute from a response header or a JSON endpoint,
so that a regression can be tied to the deploy it follows (`loadgen_target_build_info`, the
time it last changed, and a `target_version_changed` log line)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
import structlog

from service.metrics.exposition.family import Family
from service.operation.periodic import every

logger = structlog.get_logger(__name__)
TIMEOUT_S = 5.0
MAX_VERSION_CHARS = 100  # a label value, so bounded


@dataclass(frozen=True)
class BuildSource:
    """Where the version is: a header of the answer to `url`, or a field of its JSON body."""

    header: str = ""
    url: str = ""  # a path on the target, or an absolute URL; "" is the target's root
    field: str = "version"  # dotted: build.version
    interval_s: float = 60.0

    @property
    def configured(self) -> bool:
        return bool(self.header or self.url)


class TargetBuild:
    def __init__(
        self,
        source: BuildSource,
        host: Callable[[], str | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.host = host  # read at each poll: the web UI may change the target
        self.clock = clock
        self.version: str | None = None
        self.changed_at: float | None = None
        self.polls = {"ok": 0, "failed": 0}
        self._session = requests.Session()

    def start(self) -> None:
        every(self.source.interval_s, self.poll, first_at_once=True)

    def poll(self) -> None:
        try:
            version = self.read()
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
            self.polls["failed"] += 1
            logger.warning("target_version_unread", error=str(error)[:200])
            return
        self.polls["ok"] += 1
        if version != self.version:
            if self.version is not None:
                logger.warning("target_version_changed", previous=self.version, version=version)
            self.version, self.changed_at = version, self.clock()

    def read(self) -> str:
        host = self.host()
        if not host:
            raise ValueError("no target host yet")
        url = self.source.url
        if "://" not in url:  # a path on the target
            url = f"{host.rstrip('/')}/{url.lstrip('/')}"
        response = self._session.get(url, timeout=TIMEOUT_S)
        if self.source.header:
            value = response.headers.get(self.source.header)
            if value is None:
                raise KeyError(f"no {self.source.header} header in the answer of {url}")
        else:
            response.raise_for_status()
            value = _field(response.json(), self.source.field)
        version = str(value).strip()[:MAX_VERSION_CHARS]
        if not version:
            raise ValueError(f"empty version from {url}")
        return version

    def families(self) -> Iterator[Family]:
        info = Family(
            "loadgen_target_build",
            "info",
            "The target's build version, as last read (--target-version-header/-url).",
            ("version",),
        )
        changed = Family(
            "loadgen_target_build_changed_timestamp_seconds",
            "gauge",
            "When the target's build version last changed (or was first read), Unix time.",
        )
        if self.version is not None:
            info.add((self.version,), 1)
            changed.add((), self.changed_at or 0.0)
        polls = Family(
            "loadgen_target_build_polls",
            "counter",
            "Reads of the target's build version, by result.",
            ("result",),
        )
        for result, count in list(self.polls.items()):
            polls.add((result,), count)
        yield from (info, changed, polls)


def _field(body: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        body = body[key]
    return body
