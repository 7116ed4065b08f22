"""Statistics across seeds against scipy.stats and by hand."""

import math

import numpy as np
import pytest
from scipy import stats

from nnlab.runs.aggregate import (
    held_count,
    paired_difference,
    summarize,
    summarize_metrics,
)


def test_summary_is_the_t_interval_of_the_mean():
    values = [0.91, 0.93, 0.92, 0.95, 0.90]
    s = summarize(values)
    assert s.n == 5
    assert s.mean == pytest.approx(0.922)
    assert s.std == pytest.approx(np.std(values, ddof=1))
    low, high = stats.t.interval(0.95, 4, loc=np.mean(values), scale=stats.sem(values))
    assert (s.ci_low, s.ci_high) == (pytest.approx(low), pytest.approx(high))
    # by hand: t(0.975, 4) = 2.776445
    assert s.half_width == pytest.approx(2.776445 * s.std / math.sqrt(5), rel=1e-6)
    assert s.metrics("acc") == {
        "acc.mean": s.mean, "acc.std": s.std, "acc.n": 5, "acc.ci_low": s.ci_low,
        "acc.ci_high": s.ci_high,
    }  # fmt: skip


def test_one_value_has_no_interval_and_equal_values_a_point():
    one = summarize([0.5])
    assert one.mean == 0.5 and one.n == 1
    assert math.isnan(one.std) and math.isnan(one.ci_low) and math.isnan(one.ci_high)
    same = summarize([2.0, 2.0, 2.0])
    assert (same.std, same.ci_low, same.ci_high) == (0.0, 2.0, 2.0)
    assert math.isnan(summarize([1.0, float("nan")]).mean)
    with pytest.raises(ValueError):
        summarize([])


def test_paired_difference_is_scipys_paired_t_test():
    first = {0: 0.90, 1: 0.85, 2: 0.88, 3: 0.91}
    second = {0: 0.93, 1: 0.86, 2: 0.92, 3: 0.92, 9: 0.5}  # seed 9 has no partner
    d = paired_difference(first, second)
    diffs = np.array([0.03, 0.01, 0.04, 0.01])
    assert d.summary.n == 4
    assert d.summary.mean == pytest.approx(diffs.mean())
    low, high = stats.t.interval(0.95, 3, loc=diffs.mean(), scale=stats.sem(diffs))
    assert (d.summary.ci_low, d.summary.ci_high) == (pytest.approx(low), pytest.approx(high))
    expected = stats.ttest_rel([0.93, 0.86, 0.92, 0.92], [0.90, 0.85, 0.88, 0.91]).pvalue
    assert d.p_value == pytest.approx(expected)
    # pairing matters: the unpaired interval of the same numbers is wider
    unpaired = stats.ttest_ind([0.93, 0.86, 0.92, 0.92], [0.90, 0.85, 0.88, 0.91]).pvalue
    assert d.p_value < unpaired
    assert paired_difference({0: 1.0}, {1: 2.0}) is None


def test_metrics_are_summarised_key_by_key_over_the_runs_that_have_them():
    runs = [
        {"acc": 0.9, "verdict.held": True, "best": "a", "only_here": 3},
        {"acc": 0.8, "verdict.held": False, "best": "b"},
    ]
    summaries = summarize_metrics(runs)
    assert list(summaries) == ["acc", "only_here"]  # no bools, no strings
    assert summaries["acc"].mean == pytest.approx(0.85) and summaries["acc"].n == 2
    assert summaries["only_here"].n == 1
    assert held_count([True, False, True, None]) == (2, 3)
