"""Numbers across seeds: mean, standard deviation, n and a 95% t-interval, and paired differences.

A study repeats a run over seeds; each of its numbers is summarised by the sample mean, the
sample standard deviation (n - 1 in the denominator) and Student's t-interval for the mean
(scipy.stats.t with n - 1 degrees of freedom). A difference between two settings is taken seed
by seed (the same seed gives both settings the same initialisation and data order), and the
interval is that of the mean paired difference, with the paired t-test's p-value.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from nnlab.runs.tables import is_number

#: the coverage of every interval a study reports
CONFIDENCE = 0.95

#: the statistics a summary contributes to a study's metrics.json, in this order
STATISTICS = ("mean", "std", "n", "ci_low", "ci_high")


@dataclass(frozen=True)
class Summary:
    """One number over n seeds.

    std, ci_low and ci_high are NaN when n is 1 (no spread can be estimated); when every value is
    the same the interval is that value.
    """

    mean: float
    std: float
    n: int
    ci_low: float
    ci_high: float

    @property
    def half_width(self) -> float:
        """Half the interval's width (NaN when there is none)."""
        return (self.ci_high - self.ci_low) / 2

    def metrics(self, key: str) -> dict[str, float | int]:
        """{"<key>.mean": ..., "<key>.std": ..., "<key>.n": ..., "<key>.ci_low": ..., ...}."""
        return {f"{key}.{name}": getattr(self, name) for name in STATISTICS}


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> Summary:
    """Mean, sample standard deviation and the t-interval of the mean of `values`.

    Parameters
    ----------
    values : sequence of float
        One per seed (at least one). A NaN (a diverged run) makes every statistic NaN.
    confidence : float
        The interval's coverage, in (0, 1).

    Returns
    -------
    Summary
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("summarize needs one or more values")
    n, mean = int(x.size), float(x.mean())
    if n == 1:
        return Summary(mean, math.nan, 1, math.nan, math.nan)
    std = float(x.std(ddof=1))
    if std == 0.0:
        return Summary(mean, 0.0, n, mean, mean)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=std / math.sqrt(n))
    return Summary(mean, std, n, float(low), float(high))


@dataclass(frozen=True)
class Difference:
    """A setting minus another, seed by seed: the summary of the differences and the paired
    t-test's two-sided p-value (NaN where it cannot be computed: n < 2 or no spread)."""

    summary: Summary
    p_value: float


def paired_difference(
    first: Mapping[int, float], second: Mapping[int, float], confidence: float = CONFIDENCE
) -> Difference | None:
    """`second - first` over the seeds both have; None when they share none.

    Parameters
    ----------
    first, second : mapping of seed to value
    confidence : float

    Returns
    -------
    Difference or None
    """
    seeds = [s for s in first if s in second]
    if not seeds:
        return None
    a = np.array([first[s] for s in seeds], dtype=np.float64)
    b = np.array([second[s] for s in seeds], dtype=np.float64)
    summary = summarize(b - a, confidence)
    p = math.nan
    if summary.n > 1 and summary.std > 0:
        p = float(stats.ttest_rel(b, a).pvalue)
    return Difference(summary, p)


def summarize_metrics(
    runs: Sequence[Mapping[str, object]], confidence: float = CONFIDENCE
) -> dict[str, Summary]:
    """A summary of every number that the runs' metrics hold, key by key in first-seen order.

    A key is summarised over the runs that have a number under it (so n may differ between
    keys: a table row one seed's run did not make). Booleans and strings are left out.
    """
    values: dict[str, list[float]] = {}
    for metrics in runs:
        for key, value in metrics.items():
            if is_number(value):
                values.setdefault(key, []).append(float(value))
    return {key: summarize(xs, confidence) for key, xs in values.items()}


def held_count(verdicts: Sequence[bool | None]) -> tuple[int, int]:
    """(how many verdicts held, how many tested a claim): `None` verdicts state no claim."""
    tested = [v for v in verdicts if v is not None]
    return sum(1 for v in tested if v), len(tested)
