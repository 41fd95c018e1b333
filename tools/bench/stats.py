"""Confidence intervals for the benchmarks, in pure Python (no scipy in the project's venv).

`mean_interval(values)` is the two-sided Student t interval for the mean of independent samples
(here: one figure per training seed): mean +- t(1 - (1 - level) / 2, n - 1) * sd / sqrt(n), with sd
the sample standard deviation (n - 1 in the denominator). With one sample there is no interval.
`t_quantile` inverts the Student t CDF, computed from the regularized incomplete beta function
(Numerical Recipes' continued fraction), by bisection: accurate to about 1e-12.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-16
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p, for 0 < p < 1 and df > 0."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError("t_quantile needs 0 < p < 1 and df > 0")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, 2.0 * high
    for _ in range(200):
        middle = 0.5 * (low + high)
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * high:
            break
    return 0.5 * (low + high)


def mean_interval(values: Sequence[float], level: float = 0.95) -> dict:
    """Mean of `values` with its Student t interval: n, mean, sd, t, half_width, low, high (the
    last four null when n = 1: one sample gives no interval)."""
    if not values:
        raise ValueError("mean_interval needs at least one value")
    n, mean = len(values), statistics.fmean(values)
    if n == 1:
        return {"n": 1, "mean": mean, "sd": None, "level": level, "t": None, "half_width": None, "low": None, "high": None}
    sd = statistics.stdev(values)
    t = t_quantile(1.0 - (1.0 - level) / 2.0, n - 1)
    half = t * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "level": level, "t": t, "half_width": half, "low": mean - half, "high": mean + half}
