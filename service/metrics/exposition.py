"""Prometheus text (0.0.4) and OpenMetrics (1.0.0) rendering of the collector's families.

prometheus_client's encoder validates and escapes every label of every sample (~17 us a
sample here: 84 ms for 5,000 series). This renderer escapes a series' labels once and writes
its bucket lines from precomputed `le` strings, which keeps a 5,000-series scrape in a few ms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def label_text(names: Sequence[str], values: Sequence[str]) -> str:
    return ",".join(f'{n}="{escape(str(v))}"' for n, v in zip(names, values, strict=True))


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


@dataclass
class Family:
    """One metric family. `kind`: counter, gauge, histogram or info. Counters and infos are
    named without their `_total`/`_info` suffix, as OpenMetrics names them."""

    name: str
    kind: str
    help: str
    label_names: tuple[str, ...] = ()
    # counter/gauge/info: (label values, value); histogram: (label values, counts, sum)
    samples: list[tuple] = field(default_factory=list)
    le_labels: tuple[str, ...] = ()

    def add(self, values: Sequence[str], value: float) -> None:
        self.samples.append((values, value))

    def add_histogram(self, values: Sequence[str], counts: list[int], total: float) -> None:
        self.samples.append((values, counts, total))


def _sample_name(family: Family) -> str:
    return {"counter": f"{family.name}_total", "info": f"{family.name}_info"}.get(
        family.kind, family.name
    )


def _render_family(family: Family, openmetrics: bool, out: list[str]) -> None:
    if openmetrics:
        meta_name, kind = family.name, family.kind
    else:
        meta_name = _sample_name(family)
        kind = "gauge" if family.kind == "info" else family.kind
    out.append(f"# HELP {meta_name} {escape(family.help)}\n# TYPE {meta_name} {kind}\n")
    names = family.label_names
    if family.kind != "histogram":
        sample = _sample_name(family)
        for values, value in family.samples:
            labels = label_text(names, values)
            out.append(
                f"{sample}{{{labels}}} {_number(value)}\n"
                if labels
                else f"{sample} {_number(value)}\n"
            )
        return
    bucket = f"{family.name}_bucket"
    les = family.le_labels
    for values, counts, total in family.samples:
        labels = label_text(names, values)
        head = f'{bucket}{{{labels},le="' if labels else f'{bucket}{{le="'
        cumulative = list(accumulate(counts))
        out.extend([f'{head}{le}"}} {c}\n' for le, c in zip(les, cumulative, strict=True)])
        braces = f"{{{labels}}}" if labels else ""
        out.append(
            f"{family.name}_count{braces} {cumulative[-1]}\n"
            f"{family.name}_sum{braces} {_number(total)}\n"
        )


def render(families: Iterable[Family], openmetrics: bool = False) -> bytes:
    out: list[str] = []
    for family in families:
        _render_family(family, openmetrics, out)
    if openmetrics:
        out.append("# EOF\n")
    return "".join(out).encode()


def negotiate(accept: str) -> tuple[bool, str]:
    """(OpenMetrics?, content type) for an Accept header; Prometheus asks for OpenMetrics."""
    if "application/openmetrics-text" in accept:
        return True, OPENMETRICS_CONTENT_TYPE
    return False, TEXT_CONTENT_TYPE
