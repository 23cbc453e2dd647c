"""Counts gathered chunk by chunk equal counts of the whole column; the fast paths equal the textbook ones."""

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

from shipyard.monitoring.counts import CategoryCounts, NumericCounts
from shipyard.monitoring.drift import _jensen_shannon
from shipyard.monitoring.profile import bin_counts, category_counts, numeric_profile, quantiles


def test_bin_counts_put_each_value_where_searchsorted_does():
    rng = np.random.default_rng(0)
    values = np.concatenate([np.round(rng.normal(0, 3, 50_000)), [-1.0, 0.0, 1.0] * 100])  # many ties on cuts
    cuts = np.array([-2.0, -1.0, 0.0, 1.0, 2.5])
    expected = np.bincount(np.searchsorted(cuts, values, side="right"), minlength=cuts.size + 1)
    assert bin_counts(cuts, values).tolist() == expected.tolist()
    assert bin_counts(np.array([]), values).tolist() == [values.size]


def test_numeric_counts_in_chunks_equal_the_whole_column():
    rng = np.random.default_rng(1)
    reference = numeric_profile(rng.normal(0, 1, 20_000))
    values = rng.normal(0.3, 1.2, 30_001)
    values[::13] = np.nan
    values[5] = np.inf
    whole, chunked = NumericCounts(reference), NumericCounts(reference)
    whole.add(values)
    for chunk in np.array_split(values, 7):
        chunked.add(chunk)
    chunked.add(np.array([]))
    assert vars(whole).keys() == vars(chunked).keys()
    for name, value in vars(whole).items():
        assert np.array_equal(value, vars(chunked)[name]), name
    finite = values[np.isfinite(values)]  # NaN and infinities count as nulls
    assert whole.rows == values.size and whole.finite == finite.size == values.size - 2308 - 1
    assert whole.outside == np.count_nonzero((finite < reference["min"]) | (finite > reference["max"])) > 0


def test_category_counts_merge_chunks_and_rank_ties_by_text_like_the_pandas_path():
    values = pd.Series(["b", "a", "c", None, "a", "b", "d", "d"])
    counts = CategoryCounts()
    counts.add(["b", "a", "c"], [1, 1, 1], nulls=1)
    counts.add(["a", "b", "d"], [1, 1, 2])
    categories, ranked = counts.ranked()
    frequencies, nulls = category_counts(values)
    assert categories == frequencies.index.tolist() == ["a", "b", "d", "c"]
    assert ranked.tolist() == frequencies.tolist() == [2, 2, 2, 1] and counts.nulls == nulls == 1


@pytest.mark.parametrize("p, q", [([5, 3, 2], [2, 3, 5]), ([1, 0, 0], [0, 0, 1]), ([4, 4], [4, 4]),
                                  ([10, 0, 3, 7], [9, 1, 3, 0])])
def test_jensen_shannon_distance_equals_scipy(p, q):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    assert _jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)


@pytest.mark.parametrize("size", [1, 2, 3, 20, 21, 1_001, 40_000])
def test_quantiles_equal_numpys_bit_for_bit(size):
    rng = np.random.default_rng(size)
    values = np.round(rng.lognormal(0, 2, size), 3)  # ties included
    probabilities = [*np.linspace(0, 1, 21), 0.25, 0.75, 0.333]
    assert quantiles(values.copy(), probabilities).tolist() == np.quantile(values, probabilities).tolist()


def test_a_profiles_cuts_are_the_unique_inner_quantiles():
    values = np.random.default_rng(3).poisson(2, 10_000).astype(float)  # few distinct values: cuts collapse
    profile = numeric_profile(values)
    assert profile["cuts"] == np.unique(np.quantile(values, np.linspace(0, 1, 21))[1:-1]).tolist()
    assert profile["iqr"] == float(np.subtract(*np.quantile(values, [0.75, 0.25])))
