"""The sandbox's mutable state: everything a request can change, each part bounded."""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from sandbox.accounts import tenant_name
from sandbox.capacity import CapacityBoard, CapacityRule
from sandbox.config import SandboxConfig
from sandbox.dataset import TenantData, audit_entries, tenant_data
from sandbox.faults import FaultBoard
from sandbox.scans import ScanRateLimiter, ScanRegistry
from sandbox.tokens import TokenSigner
from sandbox.traces import TracedRequests

# Reports created through the API, kept per tenant; the oldest are forgotten.
CREATED_REPORTS_KEPT = 200
AUDIT_LOG_KEPT = 1000


@dataclass
class SandboxState:
    config: SandboxConfig
    epoch: int = field(default_factory=lambda: int(time.time()))
    started: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        config = self.config
        self.version = config.version
        self.signer = TokenSigner(config.token_secret, config.token_ttl_s)
        self.faults = FaultBoard()
        self.traced = TracedRequests()
        self.capacity = CapacityBoard()
        if config.capacity_concurrency:
            self.capacity.set(
                CapacityRule(
                    concurrency=config.capacity_concurrency,
                    service_ms=config.capacity_service_ms,
                    queue=config.capacity_queue,
                )
            )
        self.scan_limiter = ScanRateLimiter(config.scan_burst, config.scan_rate_per_s)
        self.scans = ScanRegistry(config.scan_queued_s, config.scan_running_s)
        self.tenant_names = frozenset(tenant_name(n) for n in range(1, config.tenants + 1))
        # Overrides of generated records, keyed by ids that exist: bounded by the dataset.
        self.threat_updates: dict[tuple[str, str], dict] = {}
        self.device_status: dict[tuple[str, str], tuple[str, float]] = {}
        self.settings: dict[str, dict] = {}
        self.tenant_settings: dict[str, dict] = {}
        self.permissions: dict[str, dict] = {}
        self.created_reports: dict[str, OrderedDict[str, dict]] = {}
        self.audit_log: deque[dict] = deque(maxlen=AUDIT_LOG_KEPT)
        self.network_records = 0
        self.uploaded_bytes = 0
        self._ids = itertools.count(1)

    def data(self, tenant: str) -> TenantData:
        return tenant_data(self.config.seed, tenant, self.epoch)

    def audit_history(self) -> tuple[dict, ...]:
        return audit_entries(self.config.seed, self.config.tenants, self.epoch)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_live_{next(self._ids)}"

    def record_audit(self, tenant: str, actor: str, action: str) -> None:
        self.audit_log.appendleft(
            {
                "id": self.new_id("audit"),
                "tenant_id": tenant,
                "actor": actor,
                "action": action,
                "timestamp": time.time(),
            }
        )

    def add_report(self, tenant: str, report: dict) -> None:
        reports = self.created_reports.setdefault(tenant, OrderedDict())
        reports[report["id"]] = report
        if len(reports) > CREATED_REPORTS_KEPT:
            reports.popitem(last=False)
