"""The Universal Scalability Law fitted to the steps: X(N) = lam N / (1 + sigma (N-1) +
kappa N (N-1)), throughput X at concurrency N (users here), lam the rate of one user alone,
sigma contention (serialised work), kappa coherency (crosstalk: throughput that falls as N
grows).

N/X is linear in (1/lam, sigma/lam, kappa/lam), so the fit is linear least squares on N/X with
sigma, kappa >= 0 (the best of the fits with each of them free or held at 0); its goodness is
R^2 on X itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product


@dataclass(frozen=True)
class UslFit:
    lam: float  # requests/s of one user
    sigma: float
    kappa: float
    r2: float
    peak_users: float | None  # where throughput peaks (None: it never does, κ = 0)
    peak_rps: float

    def throughput(self, users: float) -> float:
        return self.lam * users / (1 + self.sigma * (users - 1) + self.kappa * users * (users - 1))


def _solve(rows: list[list[float]], targets: list[float]) -> list[float] | None:
    """Least squares by the normal equations (at most 3 unknowns), Gaussian elimination."""
    size = len(rows[0])
    a = [[sum(r[i] * r[j] for r in rows) for j in range(size)] for i in range(size)]
    b = [sum(r[i] * t for r, t in zip(rows, targets, strict=True)) for i in range(size)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-15:
            return None
        a[col], a[pivot], b[col], b[pivot] = a[pivot], a[col], b[pivot], b[col]
        for r in range(size):
            if r != col:
                factor = a[r][col] / a[col][col]
                a[r] = [x - factor * y for x, y in zip(a[r], a[col], strict=True)]
                b[r] -= factor * b[col]
    return [b[i] / a[i][i] for i in range(size)]


def fit(points: list[tuple[float, float]]) -> UslFit | None:
    """`points`: (users, requests/s) with users ≥ 1 and throughput > 0; None if fewer than 3
    or no fit with λ > 0."""
    points = [(n, x) for n, x in points if n >= 1 and x > 0]
    if len(points) < 3:
        return None
    best: tuple[float, UslFit] | None = None
    for use_sigma, use_kappa in product((True, False), repeat=2):
        columns = [lambda n: 1.0]
        if use_sigma:
            columns.append(lambda n: n - 1)
        if use_kappa:
            columns.append(lambda n: n * (n - 1))
        solution = _solve([[c(n) for c in columns] for n, _ in points], [n / x for n, x in points])
        if solution is None or solution[0] <= 0:
            continue
        a, rest = solution[0], iter(solution[1:])
        sigma = next(rest) / a if use_sigma else 0.0
        kappa = next(rest) / a if use_kappa else 0.0
        if sigma < 0 or kappa < 0:
            continue
        candidate = _finish(1 / a, sigma, kappa, points)
        error = sum((x - candidate.throughput(n)) ** 2 for n, x in points)
        if best is None or error < best[0]:
            best = (error, candidate)
    return best[1] if best else None


def _finish(lam: float, sigma: float, kappa: float, points) -> UslFit:
    partial = UslFit(lam, sigma, kappa, 0.0, None, 0.0)
    mean = sum(x for _, x in points) / len(points)
    total = sum((x - mean) ** 2 for _, x in points)
    residual = sum((x - partial.throughput(n)) ** 2 for n, x in points)
    r2 = 1 - residual / total if total > 0 else 1.0
    if kappa > 0 and sigma < 1:
        peak_users = math.sqrt((1 - sigma) / kappa)
        peak_rps = partial.throughput(peak_users)
    else:
        peak_users = None
        peak_rps = lam / sigma if sigma > 0 else math.inf
    return UslFit(lam, sigma, kappa, r2, peak_users, peak_rps)
