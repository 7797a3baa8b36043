"""Asynchronous scans: per-tenant admission by token bucket, status that advances with time."""

from __future__ import annotations

import itertools
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass

QUEUED, RUNNING, COMPLETED = "queued", "running", "completed"
# Scans remembered per tenant; the oldest are forgotten so weeks of load stay bounded.
SCANS_KEPT_PER_TENANT = 500


@dataclass
class _Bucket:
    tokens: float
    updated: float


class ScanRateLimiter:
    """A token bucket per tenant: `burst` scans at once, refilled at `rate_per_s`."""

    def __init__(self, burst: int, rate_per_s: float) -> None:
        self.burst = burst
        self.rate_per_s = rate_per_s
        self._buckets: dict[str, _Bucket] = {}

    def admit(self, tenant: str, now: float) -> bool:
        bucket = self._buckets.get(tenant)
        if bucket is None:
            bucket = self._buckets[tenant] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s)
        bucket.updated = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def retry_after_s(self, tenant: str) -> float:
        bucket = self._buckets[tenant]
        return max(0.0, (1 - bucket.tokens) / self.rate_per_s)


@dataclass(frozen=True)
class Scan:
    scan_id: str
    tenant: str
    scan_type: str
    target: str
    priority: str
    created: float

    def status(self, now: float, queued_s: float, running_s: float) -> str:
        elapsed = now - self.created
        if elapsed < queued_s:
            return QUEUED
        return RUNNING if elapsed < queued_s + running_s else COMPLETED

    def findings(self) -> int:
        # Deterministic per target, so repeated reads agree.
        return zlib.crc32(f"{self.scan_type}/{self.target}".encode()) % 25


class ScanRegistry:
    def __init__(self, queued_s: float, running_s: float) -> None:
        self.queued_s = queued_s
        self.running_s = running_s
        self._ids = itertools.count(1)
        self._by_tenant: dict[str, OrderedDict[str, Scan]] = {}

    def start(self, tenant: str, scan_type: str, target: str, priority: str) -> Scan:
        scan = Scan(f"scan_{next(self._ids)}", tenant, scan_type, target, priority, time.time())
        scans = self._by_tenant.setdefault(tenant, OrderedDict())
        scans[scan.scan_id] = scan
        if len(scans) > SCANS_KEPT_PER_TENANT:
            scans.popitem(last=False)
        return scan

    def get(self, tenant: str, scan_id: str) -> Scan | None:
        return self._by_tenant.get(tenant, {}).get(scan_id)

    def of_tenant(self, tenant: str) -> list[Scan]:
        return list(reversed(self._by_tenant.get(tenant, {}).values()))

    def render(self, scan: Scan, now: float) -> dict:
        status = scan.status(now, self.queued_s, self.running_s)
        done = scan.created + self.queued_s + self.running_s
        return {
            "scan_id": scan.scan_id,
            "scan_type": scan.scan_type,
            "target": scan.target,
            "priority": scan.priority,
            "status": status,
            "created": scan.created,
            "progress": min(1.0, max(0.0, (now - scan.created - self.queued_s) / self.running_s)),
            "completed_at": done if status == COMPLETED else None,
            "findings": scan.findings() if status == COMPLETED else None,
        }

    def active(self, now: float) -> int:
        return sum(
            scan.status(now, self.queued_s, self.running_s) != COMPLETED
            for scans in self._by_tenant.values()
            for scan in scans.values()
        )
