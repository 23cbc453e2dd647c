"""Coercing a column to a kind of value, returning the values and which rows could not be coerced."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.api import types

_TRUE = ("true", "t", "yes", "y", "1", "1.0")
_FALSE = ("false", "f", "no", "n", "0", "0.0")


def mask(values) -> np.ndarray:
    """A plain numpy bool array from a bool-like Series or array; missing counts as False."""
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=bool, na_value=False)
    return np.asarray(values, dtype=bool)


def is_datetime(column: pd.Series) -> bool:
    return types.is_datetime64_any_dtype(column)


def is_numeric(column: pd.Series) -> bool:
    return types.is_numeric_dtype(column) and not types.is_timedelta64_dtype(column)


def to_numeric(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if is_numeric(column):
        return column, np.zeros(len(column), dtype=bool)
    present = mask(column.notna())
    if is_datetime(column) or types.is_timedelta64_dtype(column):
        return pd.Series(np.nan, index=column.index, name=column.name), present
    source = column.astype(object) if isinstance(column.dtype, pd.CategoricalDtype) else column
    numbers = pd.to_numeric(source, errors="coerce")
    return numbers, present & mask(numbers.isna())


def non_integral(column: pd.Series) -> np.ndarray:
    if types.is_integer_dtype(column) or types.is_bool_dtype(column):
        return np.zeros(len(column), dtype=bool)
    values = column.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return ~np.isnan(values) & (~np.isfinite(values) | (values != np.round(values)))


def to_int(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    numbers, bad = to_numeric(column)
    return numbers, bad | non_integral(numbers)


def to_datetime(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if is_datetime(column):
        return column, np.zeros(len(column), dtype=bool)
    present = mask(column.notna())
    if is_numeric(column) or types.is_bool_dtype(column):
        return pd.Series(pd.NaT, index=column.index, name=column.name, dtype="datetime64[ns]"), present
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            parsed = pd.to_datetime(column)
        except (ValueError, TypeError, OverflowError):
            parsed = pd.to_datetime(column, errors="coerce", format="mixed")
    return parsed, present & mask(parsed.isna())


def to_string(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    present = mask(column.notna())
    if isinstance(column.dtype, pd.StringDtype):
        return column, np.zeros(len(column), dtype=bool)
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    if column.dtype == object:
        is_str = np.fromiter((isinstance(v, str) for v in column.to_numpy()), dtype=bool, count=len(column))
        return column, present & ~is_str
    return column, present


def to_bool(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if types.is_bool_dtype(column):
        return column, np.zeros(len(column), dtype=bool)
    present = mask(column.notna())
    if is_numeric(column):
        return column, present & ~mask(column.isin([0, 1]))
    if is_datetime(column):
        return column, present
    words = column.astype(object).astype("str").str.strip().str.lower()
    truthy, falsy = mask(words.isin(_TRUE)), mask(words.isin(_FALSE))
    bad = present & ~(truthy | falsy)
    values = pd.Series(pd.array(np.where(truthy, True, False), dtype="boolean"), index=column.index,
                       name=column.name)
    values[~(truthy | falsy)] = pd.NA
    if not values.isna().any():
        values = values.astype(bool)
    return values, bad


def to_category(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if is_datetime(column) or types.is_timedelta64_dtype(column):
        return column, mask(column.notna())
    if types.is_float_dtype(column):
        return column, non_integral(column)
    return column, np.zeros(len(column), dtype=bool)


COERCERS = {
    "int": to_int,
    "float": to_numeric,
    "number": to_numeric,
    "string": to_string,
    "bool": to_bool,
    "datetime": to_datetime,
    "category": to_category,
}
