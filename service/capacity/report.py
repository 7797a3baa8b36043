"""The capacity answer as a self-contained HTML page: four figures (inline SVG, drawn by
matplotlib; nothing is fetched at view time) and the tables they are drawn from.

1. throughput against users, each step marked held / broke / generator-limited, with the USL
   curve and the capacity point;
2. p95 against throughput per endpoint, with the SLO line;
3. error ratio against throughput, with the budget line;
4. the bottleneck ranking: each endpoint's p95 at the most users, as a multiple of its own.
"""

from __future__ import annotations

import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("svg")  # no display, no GUI toolkit: SVG for the page

import matplotlib.pyplot as plt

# Text stays text in the SVG (searchable, and readable by a test in the rendered page).
plt.rcParams.update({"svg.fonttype": "none", "figure.dpi": 96, "font.size": 10})
HELD, BROKE, GENERATOR = "#2a9d4b", "#d1495b", "#8d8d8d"


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _colour(step: dict) -> str:
    if step["generator_limited"]:
        return GENERATOR
    return HELD if step["held"] else BROKE


def load(answer: dict, value: float) -> str:
    """A step's load in its unit: "40 users", "120 arrivals/s"."""
    return f"{value:g} {answer['load_unit']}"


def throughput_figure(answer: dict) -> str:
    figure, axes = plt.subplots(figsize=(7.5, 4))
    steps = sorted(answer["steps"], key=lambda s: s["load"])
    for step in steps:
        axes.scatter(step["load"], step["rps"], color=_colour(step), zorder=3, s=30)
    usl = answer["usl"]
    if usl:
        top = max(s["users"] for s in steps) * 1.3
        users = [1 + i * (top - 1) / 199 for i in range(200)]
        curve = [
            usl["lam"] * n / (1 + usl["sigma"] * (n - 1) + usl["kappa"] * n * (n - 1))
            for n in users
        ]
        axes.plot(users, curve, color="#3366aa", label=f"USL fit (R² {usl['r2']:.3f})")
    capacity, at = answer["capacity_rps"], answer["capacity_load"]
    if capacity:
        prefix = "≥ " if answer["at_least"] else ""
        axes.axhline(capacity, color=HELD, linestyle=":", linewidth=1)
        axes.annotate(
            f"capacity {prefix}{capacity:.0f} requests/s at {load(answer, at)}",
            (at, capacity),
            textcoords="offset points",
            xytext=(8, -16),
            color=HELD,
        )
    axes.scatter([], [], color=HELD, label="held the SLO")
    axes.scatter([], [], color=BROKE, label="broke the SLO")
    if any(s["generator_limited"] for s in steps):
        axes.scatter([], [], color=GENERATOR, label="generator saturated")
    unit = answer["load_unit"]
    axes.set(xlabel=unit, ylabel="requests/s", title=f"Throughput against {unit}")
    axes.set_ylim(bottom=0)
    axes.set_xlim(left=0)
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    return _svg(figure)


def latency_figure(answer: dict) -> str:
    figure, axes = plt.subplots(figsize=(7.5, 4))
    steps = sorted(answer["steps"], key=lambda s: s["rps"])
    names = sorted({name for s in steps for name in s["endpoints"]})
    for name in names:
        points = [
            (s["rps"], s["endpoints"][name]["p95_s"] * 1000)
            for s in steps
            if name in s["endpoints"] and s["endpoints"][name]["p95_s"] is not None
        ]
        label = f"{name} p95" + (" (corrected)" if answer["model"] == "open" else "")
        axes.plot(*zip(*points, strict=True), marker="o", markersize=3, label=label)
    slo_ms = answer["slo"]["p95_s"] * 1000
    axes.axhline(slo_ms, color=BROKE, linestyle="--", label=f"SLO p95 {slo_ms:.0f} ms")
    axes.set(xlabel="requests/s", ylabel="p95 (ms)", title="p95 per endpoint against throughput")
    axes.set_yscale("log")
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return _svg(figure)


def error_figure(answer: dict) -> str:
    figure, axes = plt.subplots(figsize=(7.5, 3))
    steps = sorted(answer["steps"], key=lambda s: s["rps"])
    axes.plot([s["rps"] for s in steps], [100 * s["error_ratio"] for s in steps], marker="o")
    budget = 100 * answer["slo"]["error_ratio"]
    axes.axhline(budget, color=BROKE, linestyle="--", label=f"error budget {budget:g} %")
    axes.set(xlabel="requests/s", ylabel="errors (%)", title="Error ratio against throughput")
    axes.set_ylim(bottom=0)
    axes.legend()
    axes.grid(alpha=0.3)
    return _svg(figure)


def bottleneck_figure(answer: dict) -> str:
    ranking = answer["bottlenecks"]
    figure, axes = plt.subplots(figsize=(7.5, 0.5 + 0.4 * max(len(ranking), 1)))
    names = [entry["endpoint"] for entry in ranking][::-1]
    ratios = [entry["p95_ratio_at_most_load"] for entry in ranking][::-1]
    bars = axes.barh(names, ratios, color="#e07a1f")
    axes.bar_label(bars, labels=[f"x{r:.1f}" for r in ratios], padding=3)
    axes.axvline(1, color="#555555", linewidth=1)
    axes.set(xlabel="p95 at the most load / its own low-load p95", title="Bottlenecks")
    return _svg(figure)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f} ms"


def _steps_table(answer: dict) -> str:
    rows = []
    open_model = answer["model"] == "open"
    for step in sorted(answer["steps"], key=lambda s: s["load"]):
        verdict = (
            "generator" if step["generator_limited"] else ("held" if step["held"] else "broke")
        )
        rows.append(
            f"<tr class='{verdict}'><td>{step['load']:g}</td>"
            + (f"<td>{step['users']}</td>" if open_model else "")
            + f"<td>{step['rps']:.1f}</td>"
            f"<td>{100 * step['error_ratio']:.2f} %</td><td>{_seconds(step['p50_s'])}</td>"
            f"<td>{_seconds(step['p95_s'])}</td><td>{_seconds(step['p99_s'])}</td><td></td>"
            f"<td>{verdict}</td><td>{html.escape('; '.join(step['reasons']))}</td></tr>"
        )
        for name, endpoint in step["endpoints"].items():
            rows.append(
                "<tr class='endpoint'><td></td>"
                + ("<td></td>" if open_model else "")
                + f"<td>{endpoint['rps']:.1f}</td>"
                f"<td>{100 * endpoint['error_ratio']:.2f} %</td>"
                f"<td>{_seconds(endpoint['p50_s'])}</td><td>{_seconds(endpoint['p95_s'])}</td>"
                f"<td>{_seconds(endpoint['p99_s'])}</td>"
                f"<td>{_seconds(endpoint.get('server_p95_s'))}</td>"
                f"<td colspan=2>{html.escape(name)}</td></tr>"
            )
    first = "<th>arrivals/s</th><th>pool</th>" if open_model else "<th>users</th>"
    head = (
        f"<tr>{first}<th>requests/s</th><th>errors</th><th>p50</th><th>p95</th>"
        "<th>p99</th><th>server p95</th><th>step</th><th>why</th></tr>"
    )
    return f"<table id='steps'>{head}{''.join(rows)}</table>"


def _summary(answer: dict) -> str:
    prefix = "at least " if answer["at_least"] else ""
    items = [
        f"<li>Capacity: <b id='capacity-rps'>{prefix}{answer['capacity_rps']:.0f}</b> requests/s "
        f"within the SLO at <b id='capacity-load'>{answer['capacity_load']:g}</b> "
        f"{answer['load_unit']} (limit: {html.escape(answer['limit'])})</li>"
    ]
    if answer["model"] == "open":
        items.append(
            "<li>Open model: the rate of arrivals was stepped; latencies are corrected (each "
            "request's time plus its arrival's start delay)</li>"
        )
    if answer["broke_at"]:
        broke = answer["broke_at"]
        items.append(
            f"<li>Broke at {load(answer, broke['load'])} ({broke['rps']:.0f} requests/s): "
            f"{html.escape('; '.join(broke['reasons']))}</li>"
        )
    usl = answer["usl"]
    if usl:
        peak = (
            f"peak {usl['peak_rps']:.0f} requests/s at {usl['peak_users']:.0f} users"
            if usl["peak_users"]
            else "no peak"
        )
        items.append(
            f"<li>USL: &sigma; {usl['sigma']:.4f}, &kappa; {usl['kappa']:.6f}, &lambda; "
            f"{usl['lam']:.2f} "
            f"requests/s per user, {peak}, R² {usl['r2']:.3f}</li>"
        )
    generator = answer["generator"]
    if generator.get("suggested_workers"):
        items.append(
            f"<li>The generator was the limit: {generator['rps_per_core']:.0f} requests/s per "
            f"core; use {generator['suggested_workers']} workers</li>"
        )
    if answer["bottlenecks"]:
        first = answer["bottlenecks"][0]
        items.append(f"<li>First bottleneck: <b id='first-bottleneck'>"
                     f"{html.escape(first['endpoint'])}</b></li>")  # fmt: skip
    slo = answer["slo"]
    items.append(
        f"<li>SLO: p95 ≤ {_seconds(slo['p95_s'])}, p99 ≤ {_seconds(slo['p99_s'])} per "
        f"endpoint, errors ≤ {100 * slo['error_ratio']:g} %</li>"
    )
    return f"<ul id='summary'>{''.join(items)}</ul>"


STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
figure { margin: 1.5em 0; } svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: right; }
tr.endpoint td { color: #666; } tr.broke td { background: #fbe9eb; }
tr.generator td { background: #eeeeee; }
"""


def render(answer: dict) -> str:
    figures = [
        ("throughput", throughput_figure(answer)),
        ("latency", latency_figure(answer)),
        ("errors", error_figure(answer)),
        ("bottlenecks", bottleneck_figure(answer)),
    ]
    body = "".join(f"<figure id='figure-{name}'>{svg}</figure>" for name, svg in figures)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>Capacity report</title><style>{STYLE}</style></head><body>"
        f"<h1>Capacity report</h1>{_summary(answer)}{body}"
        f"<h2>Steps</h2>{_steps_table(answer)}</body></html>"
    )


def write(answer: dict, path: Path) -> None:
    path.write_text(render(answer), encoding="utf-8")
