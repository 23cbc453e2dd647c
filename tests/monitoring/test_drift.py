"""Drift statistics on profiles: quiet on unchanged data at any size, loud on real shifts."""

import numpy as np
import pandas as pd
import pytest

from shipyard.monitoring.drift import categorical_drift, dataset_drift, numeric_drift, psi
from shipyard.monitoring.profile import build_profile, categorical_profile, numeric_profile
from shipyard.spec.monitoring import MonitoringSpec

SPEC = MonitoringSpec()


def _frame(n, seed, *, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "income": rng.lognormal(10 + shift, 0.5, n),
        "age": np.clip(np.round(rng.normal(44 + 10 * shift, 14, n)), 18, 90),
        "calls": rng.poisson(1.5, n).astype(float),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2] if not shift else [0.2, 0.3, 0.5]),
        "region": rng.choice(["n", "s", "e", "w"], n),
    })


@pytest.fixture(scope="module")
def profile():
    reference = _frame(200_000, 0)
    return build_profile(reference, np.where(reference.age > 45, "1", "0"), task="classification")


def test_profiles_are_compact_counts():
    values = np.random.default_rng(1).normal(size=10_000)
    numeric = numeric_profile(np.append(values, [np.nan] * 100))
    assert len(numeric["cuts"]) == 19 and sum(numeric["counts"]) == 10_000
    assert numeric["null_rate"] == pytest.approx(100 / 10_100)
    categorical = categorical_profile(pd.Series(["a"] * 5 + ["b"] * 3 + [None] * 2), limit=1)
    assert categorical["categories"] == ["a"] and categorical["counts"] == [5] and categorical["other"] == 3
    assert categorical["null_rate"] == pytest.approx(0.2)


@pytest.mark.parametrize("rows", [300, 5_000, 1_000_000])
def test_unchanged_traffic_raises_no_alarm_at_any_size(profile, rows):
    current = _frame(rows, seed=rows)
    report = dataset_drift(profile, current, pd.Series(np.where(current.age > 45, "1", "0")), SPEC)
    assert report["severity"] == "ok", {n: (f["severity"], f.get("psi"), f.get("p_value"))
                                        for n, f in report["features"].items()}
    assert report["drifted"] == [] and report["prediction"]["severity"] == "ok"
    method = "ks" if rows < SPEC.small_sample else "psi+wasserstein"
    assert report["features"]["income"]["method"] == method


@pytest.mark.parametrize("rows", [300, 50_000])
def test_a_shift_is_flagged_on_the_shifted_features_only(profile, rows):
    current = _frame(rows, seed=rows + 1, shift=0.6)
    report = dataset_drift(profile, current, pd.Series(np.where(current.age > 45, "1", "0")), SPEC)
    flagged = {n for n, f in report["features"].items() if f["severity"] == "critical"}
    assert flagged == {"income", "age", "plan"}
    assert report["features"]["calls"]["severity"] == "ok" and report["features"]["region"]["severity"] == "ok"
    assert report["severity"] == "critical" and report["drifted"][:3] == sorted(report["drifted"][:3],
                                                                               key=report["drifted"].index)
    assert report["prediction"]["severity"] != "ok"


def test_unseen_categories_and_out_of_range_values_are_measured(profile):
    values = np.array(["basic"] * 900 + ["enterprise"] * 300, dtype=object)
    result = categorical_drift(profile["features"]["plan"], values, SPEC)
    assert result["unseen_share"] == 0.25 and result["severity"] == "critical"
    ages = np.concatenate([np.full(1500, 120.0), np.random.default_rng(3).normal(44, 14, 500)])
    result = numeric_drift(profile["features"]["age"], ages, SPEC)
    assert result["out_of_range"] == pytest.approx(0.75, abs=0.01) and result["severity"] == "critical"


def test_a_rising_null_rate_is_drift_even_when_values_look_the_same(profile):
    values = _frame(20_000, 9)["income"].to_numpy().copy()
    values[:5000] = np.nan
    result = numeric_drift(profile["features"]["income"], values, SPEC)
    assert result["null_rate_increase"] == pytest.approx(0.25) and result["severity"] == "critical"
    assert result["psi"] < SPEC.psi.warning


def test_missing_columns_are_reported_not_fatal(profile):
    current = _frame(2_000, 4).drop(columns=["region"])
    report = dataset_drift(profile, current, None, SPEC)
    assert report["missing_columns"] == ["region"] and report["prediction"] is None


def test_psi_is_zero_for_identical_counts_and_grows_with_distance():
    same = np.array([10.0, 20, 30])
    assert psi(same, same * 7) == pytest.approx(0)
    assert 0 < psi(same, np.array([12.0, 20, 28])) < psi(same, np.array([30.0, 20, 10]))


ISLANDS = ["Biscoe", "Dream", "Torgersen"]
ISLAND_SHARES = [0.5, 0.35, 0.15]


def _penguins(n, seed, *, shares=ISLAND_SHARES):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"island": rng.choice(ISLANDS, n, p=shares),
                         "bill_length_mm": rng.normal(44, 5, n)})


@pytest.fixture(scope="module")
def penguin_profile():
    reference = _penguins(5_000, 0)
    return build_profile(reference, np.where(reference.bill_length_mm > 44, "1", "0"), task="classification")


def test_one_unseen_category_in_a_small_window_is_no_drift(penguin_profile):
    current = pd.concat([_penguins(300, 1), pd.DataFrame({"island": ["Atlantis"], "bill_length_mm": [44.0]})],
                        ignore_index=True)
    report = dataset_drift(penguin_profile, current, None, SPEC)
    island = report["features"]["island"]
    assert island["unseen_share"] == pytest.approx(1 / 301)
    assert island["method"] == "chi-square" and island["p_value"] > SPEC.p_value
    assert island["severity"] == "ok" and report["severity"] == "ok"


def test_a_handful_of_unseen_values_among_a_million_rows_is_no_drift(penguin_profile):
    current = _penguins(1_000_000, 2)
    current.loc[:4, "island"] = ["Atlantis", "Lemuria", "Atlantis", "Mu", "Avalon"]
    report = dataset_drift(penguin_profile, current, None, SPEC)
    island = report["features"]["island"]
    assert island["unseen_share"] == pytest.approx(5e-6)
    assert island["severity"] == "ok" and report["severity"] == "ok", island


@pytest.mark.parametrize("rows", [300, 1_000_000])
def test_unseen_values_past_the_spec_share_still_warn(penguin_profile, rows):
    current = _penguins(rows, 3)
    current.loc[:int(rows * 0.08) - 1, "island"] = "Atlantis"
    result = categorical_drift(penguin_profile["features"]["island"], current["island"], SPEC)
    assert result["unseen_share"] == pytest.approx(0.08, abs=1e-3) and result["severity"] == "warning"


@pytest.mark.parametrize("rows", [300, 1_000_000])
def test_a_real_shift_between_known_categories_still_warns(penguin_profile, rows):
    current = _penguins(rows, 4, shares=[0.15, 0.35, 0.5])
    result = categorical_drift(penguin_profile["features"]["island"], current["island"], SPEC)
    assert result["unseen_share"] == 0 and result["severity"] == "critical"


def test_a_significant_test_of_a_negligible_difference_is_no_drift():
    reference = categorical_profile(pd.Series(["a", "b"] * 5_000))
    current = pd.Series(["a"] * 495 + ["b"] * 405)  # chi-square p ≈ 0.003, PSI ≈ 0.01, Jensen-Shannon ≈ 0.04
    result = categorical_drift(reference, current, SPEC)
    assert result["p_value"] < SPEC.p_value
    assert result["psi"] < SPEC.psi.warning and result["jensen_shannon"] < SPEC.jensen_shannon.warning
    assert result["severity"] == "ok"


def test_a_window_of_only_unseen_values_is_judged_by_their_share(penguin_profile):
    result = categorical_drift(penguin_profile["features"]["island"], pd.Series(["Atlantis"] * 200), SPEC)
    assert result["unseen_share"] == 1 and result["severity"] == "critical" and result["psi"] is None
