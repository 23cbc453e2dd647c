import numpy as np
import pandas as pd
import pytest

from shipyard.data.split import split_frame
from shipyard.errors import DataError, SpecError
from shipyard.spec.models import SplitSpec


def split(**fields) -> SplitSpec:
    return SplitSpec.model_validate(fields)


@pytest.fixture
def frame() -> pd.DataFrame:
    n = 100
    return pd.DataFrame({
        "id": np.arange(n),
        "at": pd.date_range("2024-01-01", periods=n, freq="D"),
        "y": np.r_[np.ones(20, dtype=int), np.zeros(80, dtype=int)],
    })


def test_random_split_sizes_and_determinism(frame):
    train, holdout = split_frame(frame, split(method="random", holdout=0.25, seed=3), target="y")
    again_train, again_holdout = split_frame(frame, split(method="random", holdout=0.25, seed=3), target="y")
    other_train, _ = split_frame(frame, split(method="random", holdout=0.25, seed=4), target="y")
    assert (len(train), len(holdout)) == (75, 25)
    assert sorted(train["id"].tolist() + holdout["id"].tolist()) == list(range(100))
    pd.testing.assert_frame_equal(train, again_train)
    pd.testing.assert_frame_equal(holdout, again_holdout)
    assert train["id"].tolist() != other_train["id"].tolist()
    assert train.index.tolist() == list(range(75))
    assert train["id"].is_monotonic_increasing


def test_holdout_size_rounds_up(frame):
    _, holdout = split_frame(frame.iloc[:11], split(method="random", holdout=0.2), target="y")
    assert len(holdout) == 3


def test_stratified_keeps_class_shares(frame):
    train, holdout = split_frame(frame, split(method="stratified", holdout=0.2, seed=1), target="y")
    assert (len(train), len(holdout)) == (80, 20)
    assert holdout["y"].sum() == 4
    assert train["y"].sum() == 16


def test_stratified_refuses_a_single_row_class(frame):
    frame.loc[0, "y"] = 7
    with pytest.raises(DataError) as info:
        split_frame(frame, split(method="stratified"), target="y")
    assert "'y' has 1 value(s) with fewer: 7 (1 row)" in info.value.message
    assert "split.method: random" in info.value.hint


def test_stratified_with_too_small_holdout_for_classes():
    frame = pd.DataFrame({"y": [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]})
    with pytest.raises(DataError, match="cannot stratify 10 rows with 5 target values"):
        split_frame(frame, split(method="stratified", holdout=0.2), target="y")


def test_time_split_with_cutoff(frame):
    train, holdout = split_frame(frame, split(method="time", cutoff="2024-03-15"), target="y", timestamp="at")
    assert len(holdout) == 100 - 74
    assert holdout["at"].min() == pd.Timestamp("2024-03-15")
    assert train["at"].max() == pd.Timestamp("2024-03-14")


def test_time_split_latest_share_keeps_ties_together():
    times = pd.to_datetime(["2024-01-01"] * 4 + ["2024-01-02"] * 3 + ["2024-01-03"] * 3)
    frame = pd.DataFrame({"at": times[::-1], "y": [0, 1] * 5})
    train, holdout = split_frame(frame, split(method="time", holdout=0.2), target="y", timestamp="at")
    assert len(holdout) == 3
    assert set(holdout["at"]) == {pd.Timestamp("2024-01-03")}
    train2, holdout2 = split_frame(frame, split(method="time", holdout=0.5), target="y", timestamp="at")
    assert (len(train2), len(holdout2)) == (4, 6)


def test_time_split_timezones(frame):
    aware = frame.assign(at=frame["at"].dt.tz_localize("Europe/Berlin"))
    _, holdout = split_frame(aware, split(method="time", cutoff="2024-04-01"), target="y", timestamp="at")
    assert len(holdout) == 9
    _, holdout = split_frame(frame, split(method="time", cutoff="2024-03-31T20:00:00-05:00"), target="y",
                             timestamp="at")
    assert holdout["at"].min() == pd.Timestamp("2024-04-02")


def test_time_split_parses_text_timestamps(frame):
    text = frame.assign(at=frame["at"].dt.strftime("%Y-%m-%d"))
    _, holdout = split_frame(text, split(method="time", cutoff="2024-04-01"), target="y", timestamp="at")
    assert holdout["at"].tolist() == [f"2024-04-{d:02d}" for d in range(1, 10)]


def test_time_split_empty_parts(frame):
    with pytest.raises(DataError, match="leaves the holdout part empty; 'at' spans 2024-01-01"):
        split_frame(frame, split(method="time", cutoff="2030-01-01"), target="y", timestamp="at")
    with pytest.raises(DataError, match="leaves the train part empty"):
        split_frame(frame, split(method="time", cutoff="2000-01-01"), target="y", timestamp="at")
    same = frame.assign(at=pd.Timestamp("2024-01-01"))
    with pytest.raises(DataError, match="leaves the train part empty") as info:
        split_frame(same, split(method="time"), target="y", timestamp="at")
    assert "timestamps are all equal" in info.value.hint


def test_time_split_needs_a_timestamp(frame):
    with pytest.raises(SpecError, match="needs a timestamp column"):
        split_frame(frame, split(method="time"), target="y", timestamp=None)
    with pytest.raises(ValueError, match="not an ISO date or timestamp"):
        split(method="time", cutoff="next tuesday")


def test_too_few_rows(frame):
    with pytest.raises(DataError, match="cannot split 1 row"):
        split_frame(frame.iloc[:1], split(method="random"), target="y")
