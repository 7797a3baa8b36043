"""`securenet-loadgen capacity`: `run` with the capacity search as its load shape, then the
answer on stdout and as the exit status: 0 when the target held --require-rps within the SLO
(or no requirement was given), 1 when not (or the generator was the limit below it), 2 on bad
input. Everything `run` takes (scenario, host, Locust and service flags) is taken here too."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from service.commands.usage import UsageError, raise_usage_error
from service.settings.types import Number

# This command's flags, and the --capacity-* settings they set (typed and checked there).
PASSED_ON = {
    "json": "--capacity-json",
    "html": "--capacity-html",
    "model": "--capacity-model",
    "start_users": "--capacity-start-users",
    "start_rate": "--capacity-start-rate",
    "step_seconds": "--capacity-step-seconds",
    "precision": "--capacity-precision",
    "max_duration": "--capacity-max-duration",
    "p95": "--capacity-p95",
    "p99": "--capacity-p99",
    "error_ratio": "--capacity-error-ratio",
    "target_metrics": "--capacity-target-metrics",
}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="securenet-loadgen capacity",
        description=__doc__,
        allow_abbrev=False,
    )
    parser.add_argument("--json", metavar="FILE", help="write the whole answer as JSON")
    parser.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    parser.add_argument(
        "--require-rps",
        type=Number(float, 0, 1e9, above=True, what="requests/s"),
        help="exit 1 unless the target held this many requests/s within the SLO",
    )
    parser.add_argument(
        "--model",
        metavar="M",
        help="open (step arrivals/s), closed (step users) or auto (the default: open unless a "
        "user class runs its own loop)",
    )
    parser.add_argument("--start-users", metavar="N", help="users of the first step (10)")
    parser.add_argument("--start-rate", metavar="R", help="open: arrivals/s of the first step (10)")
    parser.add_argument("--step-seconds", metavar="S", help="seconds per step (30)")
    parser.add_argument("--precision", metavar="R", help="refine the knee to this ratio (0.05)")
    parser.add_argument("--max-duration", metavar="S", help="end the search after S s (3600)")
    parser.add_argument("--p95", metavar="S", help="p95 threshold (loadgen_slo.yml's)")
    parser.add_argument("--p99", metavar="S", help="p99 threshold (loadgen_slo.yml's)")
    parser.add_argument("--error-ratio", metavar="R", help="error budget (loadgen_slo.yml's)")
    parser.add_argument(
        "--target-metrics", metavar="URL", help="the target's /metrics: its server-side time"
    )
    return parser


def main(argv: list[str], run: Callable[[list[str]], int]) -> int:
    """`run`: the run command's own function (validation, sandbox, Locust as a child)."""
    cli = parser()
    cli.error = raise_usage_error
    args, rest = cli.parse_known_args(argv)
    if any(a == "--shape" or a.startswith("--shape=") for a in rest):
        raise UsageError("capacity sets the load shape itself: leave out --shape")
    with tempfile.TemporaryDirectory(prefix="capacity-") as scratch:
        answer_file = Path(args.json) if args.json else Path(scratch) / "capacity.json"
        passed = [
            f"{flag}={getattr(args, name)}"
            for name, flag in PASSED_ON.items()
            if name != "json" and getattr(args, name) is not None
        ]
        code = run([*rest, "--shape=capacity", f"--capacity-json={answer_file}", *passed])
        if code == 2 or not answer_file.is_file():
            return 2 if code == 2 else 1
        answer = json.loads(answer_file.read_text(encoding="utf-8"))
    print(summary(answer))
    if answer["limit"] == "no-requests":
        return 1  # nothing was measured: no verdict, whether or not one was asked for
    if args.require_rps is None:
        return 0
    met = answer["capacity_rps"] >= args.require_rps
    print(
        f"required {args.require_rps:g} requests/s: "
        + ("met" if met else "NOT met" + (" (the generator was the limit)"
                                          if answer["limit"] == "generator" else ""))
    )  # fmt: skip
    return 0 if met else 1


def summary(answer: dict) -> str:
    at_least = "at least " if answer["at_least"] else ""
    if answer["limit"] == "no-requests":
        return (
            "capacity: no request finished in a step: the target does not answer, or the "
            "workers run without the service (start them with securenet-loadgen run --worker)"
        )
    unit = answer["load_unit"]
    other = "closed steps users" if answer["model"] == "open" else "open steps arrivals/s"
    lines = [
        f"capacity: {at_least}{answer['capacity_rps']:.0f} requests/s within the SLO at "
        f"{answer['capacity_load']:g} {unit} (limit: {answer['limit']})",
        f"model: {answer['model']} ({answer.get('model_reason') or 'asked for'}; --model {other})",
    ]
    if answer["broke_at"]:
        broke = answer["broke_at"]
        lines.append(
            f"broke at {broke['load']:g} {unit} ({broke['rps']:.0f} requests/s): "
            + "; ".join(broke["reasons"])
        )
    if answer["generator"].get("suggested_workers"):
        generator = answer["generator"]
        lines.append(
            f"the generator was the limit ({'; '.join(generator['reasons'])}): at "
            f"{generator['rps_per_core']:.0f} requests/s per core, use "
            f"{generator['suggested_workers']} workers"
        )
    usl = answer["usl"]
    if usl:
        peak = (
            f"peak {usl['peak_rps']:.0f} requests/s at {usl['peak_users']:.0f} users"
            if usl["peak_users"]
            else "no peak (kappa 0)"
        )
        lines.append(
            f"USL: sigma {usl['sigma']:.4f}, kappa {usl['kappa']:.6f}, {peak}, R^2 {usl['r2']:.3f}"
        )
    if answer["bottlenecks"]:
        first = answer["bottlenecks"][0]
        rose = first["rose_at_load"]
        lines.append(
            f"first bottleneck: {first['endpoint']} (p95 x{first['p95_ratio_at_most_load']:.1f}"
            + (f", rose from {rose:g} {unit})" if rose else ")")
        )
    return "\n".join(lines)
