"""Splitting a frame into train and holdout parts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from shipyard.data import coerce
from shipyard.data.columns import check_columns
from shipyard.errors import DataError, SpecError
from shipyard.spec.models import SplitSpec


def split_frame(frame: pd.DataFrame, split: SplitSpec, *, target: str,
                timestamp: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout), rows in their original order, each with a fresh 0..n-1 index.

    Random and stratified splits depend only on the data and ``split.seed``. A time split
    holds out rows at or after the cutoff; without one, the cutoff is the timestamp that
    starts the latest ``split.holdout`` share, so rows sharing a timestamp stay together.
    A cutoff without a zone takes the column's; naive timestamps are read as UTC against
    a cutoff with one.
    """
    check_columns([target], list(frame.columns), where="data.target",
                  fix="fix data.target in the spec, or the data source")
    if len(frame) < 2:
        raise DataError(f"cannot split {len(frame)} row(s) into train and holdout",
                        hint="the data needs at least 2 rows; check the source and the expectations' drops")
    if split.method == "time":
        holdout = _time_holdout(frame, split, timestamp)
    elif split.method == "stratified":
        holdout = _stratified_holdout(frame, split, target)
    else:
        holdout = _random_holdout(frame, split)
    return frame.iloc[~holdout].reset_index(drop=True), frame.iloc[holdout].reset_index(drop=True)


def _holdout_size(n: int, share: float) -> int:
    return min(n - 1, max(1, math.ceil(share * n)))


def _positions_mask(n: int, positions: np.ndarray) -> np.ndarray:
    selected = np.zeros(n, dtype=bool)
    selected[positions] = True
    return selected


def _random_holdout(frame: pd.DataFrame, split: SplitSpec) -> np.ndarray:
    n = len(frame)
    positions = np.random.default_rng(split.seed).permutation(n)[:_holdout_size(n, split.holdout)]
    return _positions_mask(n, positions)


def _stratified_holdout(frame: pd.DataFrame, split: SplitSpec, target: str) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    labels = frame[target]
    nulls = int(labels.isna().sum())
    if nulls:
        raise DataError(f"the target '{target}' has {nulls} null value(s); a stratified split needs a label "
                        "on every row",
                        hint="validate the data first (target nulls are dropped there) or drop them in the source")
    counts = labels.value_counts()
    rare = counts[counts < 2]
    if len(rare):
        shown = ", ".join(f"{value!r} ({count} row)" for value, count in rare.head(5).items())
        more = f" and {len(rare) - 5} more" if len(rare) > 5 else ""
        raise DataError(f"a stratified split needs at least 2 rows of every target value; "
                        f"'{target}' has {len(rare)} value(s) with fewer: {shown}{more}",
                        hint="use 'split.method: random' (always for a continuous target), or gather more rows "
                             "of those classes")
    n = len(frame)
    try:
        _, positions = train_test_split(np.arange(n), test_size=_holdout_size(n, split.holdout),
                                        random_state=split.seed, shuffle=True, stratify=labels.to_numpy())
    except ValueError as exc:
        raise DataError(f"cannot stratify {n} rows with {len(counts)} target values into a "
                        f"{split.holdout:.0%} holdout: {exc}",
                        hint="raise split.holdout, gather more rows, or use 'split.method: random'") from None
    return _positions_mask(n, positions)


def _time_holdout(frame: pd.DataFrame, split: SplitSpec, timestamp: str | None) -> np.ndarray:
    if not timestamp:
        raise SpecError("split method 'time' needs a timestamp column",
                        hint="set data.timestamp to the column that orders the rows in time")
    check_columns([timestamp], list(frame.columns), where="data.timestamp",
                  fix="fix data.timestamp in the spec, or the data source")
    times, bad = coerce.to_datetime(frame[timestamp])
    missing = int(bad.sum() + times.isna().sum())
    if missing:
        raise DataError(f"timestamp column '{timestamp}' has {missing} row(s) without a valid timestamp; "
                        "a time split cannot place them",
                        hint="validate the data first (such rows are dropped there) or fix them in the source")
    if split.cutoff is not None:
        cutoff = _cutoff(split.cutoff, times)
        where = f"cutoff {split.cutoff}"
    else:
        ordered = times.sort_values(kind="stable")
        cutoff = ordered.iloc[len(ordered) - _holdout_size(len(ordered), split.holdout)]
        where = f"the latest {split.holdout:.0%} of rows (from {cutoff})"
    holdout = coerce.mask(times >= cutoff)
    if holdout.all() or not holdout.any():
        part = "train" if holdout.all() else "holdout"
        raise DataError(f"the time split at {where} leaves the {part} part empty; '{timestamp}' spans "
                        f"{times.min()} to {times.max()}",
                        hint="choose split.cutoff inside that range" if split.cutoff is not None
                        else "the timestamps are all equal; use 'split.method: random' or 'stratified'")
    return holdout


def _cutoff(text: str, times: pd.Series) -> pd.Timestamp:
    try:
        cutoff = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise SpecError(f"split.cutoff '{text}' is not a timestamp",
                        hint="write it as ISO-8601, e.g. '2024-06-01' or '2024-06-01T12:00:00'") from None
    zone = times.dt.tz
    if zone is not None and cutoff.tzinfo is None:
        return cutoff.tz_localize(zone)
    if zone is None and cutoff.tzinfo is not None:
        return cutoff.tz_convert("UTC").tz_localize(None)
    return cutoff
