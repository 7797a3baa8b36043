"""Deterministic per-tenant SecureNet data: threats, devices, alerts, reports, audit entries.

Every record is generated from (seed, tenant), so tests can compute what the sandbox returns.
Timestamps are generated ages before `epoch` (the sandbox's start), which keeps `since`/`days`
filters deterministic within one sandbox process.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from functools import cache

SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_WEIGHTS = (40, 30, 20, 10)
THREAT_STATUSES = ("new", "investigating", "resolved")
THREAT_KINDS = ("malware", "intrusion", "vulnerability", "phishing", "ddos", "compliance")
DEVICE_STATUSES = ("online", "offline", "degraded")
DEVICE_KINDS = ("server", "workstation", "router", "firewall", "switch", "iot")
REPORT_TYPES = ("weekly_summary", "monthly_summary", "compliance", "incident")
DASHBOARD_VIEWS = ("overview", "threats", "network", "compliance")

THREATS_PER_TENANT = 1000
DEVICES_PER_TENANT = 200
ALERTS_PER_TENANT = 100
REPORTS_PER_TENANT = 100
AUDIT_ENTRIES = 2000
# Ages spread over 30 days, so 24h/7d filters select real subsets.
MAX_AGE_S = 30 * 24 * 3600


@dataclass(frozen=True)
class TenantData:
    tenant: str
    threats: tuple[dict, ...]
    threat_index: dict[str, dict]
    devices: tuple[dict, ...]
    device_index: dict[str, dict]
    alerts: tuple[dict, ...]
    reports: tuple[dict, ...]
    report_index: dict[str, dict]
    open_threats: dict[str, int]
    device_counts: dict[str, int]


def _age(rng: random.Random, max_age_s: int = MAX_AGE_S) -> int:
    # Skewed towards recent records, as real security data is.
    return int(rng.random() ** 2 * max_age_s)


def _private_ip(rng: random.Random) -> str:
    # Data only: these addresses are never contacted.
    return f"192.168.{rng.randint(1, 10)}.{rng.randint(1, 254)}"


def _threat(rng: random.Random, number: int) -> dict:
    kind = rng.choice(THREAT_KINDS)
    severity = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
    return {
        "id": f"threat_{number}",
        "kind": kind,
        "title": f"{severity} {kind} activity from {_private_ip(rng)}",
        "severity": severity,
        "status": rng.choice(THREAT_STATUSES),
        "source_ip": _private_ip(rng),
        "device_id": f"device_{rng.randrange(DEVICES_PER_TENANT)}",
        "age_s": _age(rng),
    }


def _device(rng: random.Random, number: int) -> dict:
    return {
        "id": f"device_{number}",
        "kind": rng.choice(DEVICE_KINDS),
        "ip": _private_ip(rng),
        "status": rng.choices(DEVICE_STATUSES, (80, 15, 5))[0],
    }


def _alert(rng: random.Random, number: int) -> dict:
    return {
        "id": f"alert_{number}",
        "threat_id": f"threat_{rng.randint(1, THREATS_PER_TENANT)}",
        "severity": rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0],
        "age_s": _age(rng, 7 * 24 * 3600),
    }


def _report(rng: random.Random, number: int) -> dict:
    report_type = rng.choice(REPORT_TYPES)
    return {
        "id": f"report_{number}",
        "report_type": report_type,
        "title": f"{report_type.replace('_', ' ')} #{number}",
        "sections": ["threats", "vulnerabilities", "compliance"],
        "age_s": _age(rng),
    }


def _newest_first(records: list[dict], epoch: int) -> tuple[dict, ...]:
    """Turn generated ages into timestamps and order the records newest first."""
    for record in records:
        record["timestamp"] = epoch - record.pop("age_s")
    return tuple(sorted(records, key=lambda record: -record["timestamp"]))


@cache
def tenant_data(seed: int, tenant: str, epoch: int) -> TenantData:
    """The tenant's records; cached, and bounded by the configured number of tenants."""
    rng = random.Random(f"{seed}/{tenant}")
    threats = [_threat(rng, n) for n in range(1, THREATS_PER_TENANT + 1)]
    devices = [_device(rng, n) for n in range(DEVICES_PER_TENANT)]
    alerts = [_alert(rng, n) for n in range(1, ALERTS_PER_TENANT + 1)]
    reports = [_report(rng, n) for n in range(1, REPORTS_PER_TENANT + 1)]
    return TenantData(
        tenant=tenant,
        threats=_newest_first(threats, epoch),
        threat_index={threat["id"]: threat for threat in threats},
        devices=tuple(devices),
        device_index={device["id"]: device for device in devices},
        alerts=_newest_first(alerts, epoch),
        reports=_newest_first(reports, epoch),
        report_index={report["id"]: report for report in reports},
        open_threats=dict(Counter(t["severity"] for t in threats if t["status"] != "resolved")),
        device_counts=dict(Counter(d["status"] for d in devices)),
    )


@cache
def audit_entries(seed: int, tenants: int, epoch: int) -> tuple[dict, ...]:
    rng = random.Random(f"{seed}/audit")
    actions = ("login", "scan.start", "settings.update", "threat.update", "report.create")
    entries = [
        {
            "id": f"audit_{n}",
            "tenant_id": f"tenant_{rng.randint(1, tenants)}",
            "actor": f"user_{rng.randint(1, 1000)}",
            "action": rng.choice(actions),
            "age_s": _age(rng),
        }
        for n in range(1, AUDIT_ENTRIES + 1)
    ]
    return _newest_first(entries, epoch)
