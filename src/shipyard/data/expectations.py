"""Checking a frame against its declared expectations; failing or dropping offending rows.

The report is plain JSON::

    {"passed": bool,            # no check found a violation
     "rows_in": n, "rows_out": n, "rows_dropped": n, "on_violation": "fail" | "drop",
     "columns": {column: {check: {"rule": str, "violations": k,
                                  "examples": [up to 5 distinct offending values, as str],
                                  "rows": [up to 5 row positions in the input]}}},
     "table": {"row_count": {"min": m, "max": m, "actual": rows_out, "passed": bool}}}

Checks are ``dtype``, ``nullable``, ``min``, ``max``, ``allowed``, ``unique`` and ``regex``.
The target (and the timestamp column, when declared) may never be null; their nulls
are counted under ``nullable``. A ``unique`` column keeps the first row of each
value among the rows that pass every other check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shipyard.data import coerce
from shipyard.data.columns import check_columns
from shipyard.errors import DataError, SpecError
from shipyard.spec.models import ColumnExpectation, ExpectationsSpec

_EXAMPLES = 5
_CHECK_ORDER = ("dtype", "nullable", "min", "max", "allowed", "unique", "regex")


@dataclass
class _Column:
    name: str
    values: pd.Series
    coerced: bool = False
    checks: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)

    def add(self, check: str, rule: str, bad: np.ndarray) -> None:
        if check in self.checks:
            _, previous = self.checks[check]
            bad = previous | bad
        self.checks[check] = (rule, bad)


def validate_frame(frame: pd.DataFrame, expectations: ExpectationsSpec, *, target: str,
                   timestamp: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The valid rows of ``frame`` (index reset, coerced columns applied) and the report."""
    available = [str(c) for c in frame.columns]
    check_columns(list(expectations.columns), available, where="expectations.columns",
                  fix="fix the column names under expectations.columns, or the data source")
    check_columns([target] + ([timestamp] if timestamp else []), available, where="data.target/data.timestamp",
                  fix="fix data.target / data.timestamp in the spec, or the data source")

    columns: dict[str, _Column] = {}
    for name, expectation in expectations.columns.items():
        columns[name] = _check_column(frame[name], expectation)
    _require_present(columns, frame, target)
    if timestamp:
        _require_timestamp(columns, frame, timestamp)

    rows_in = len(frame)
    bad_rows = np.zeros(rows_in, dtype=bool)
    for column in columns.values():
        for _, bad in column.checks.values():
            bad_rows |= bad
    for name, expectation in expectations.columns.items():
        if expectation.unique:
            column = columns[name]
            column.add("unique", "unique", _duplicates(column.values, ~bad_rows))
    for name, expectation in expectations.columns.items():
        if expectation.unique:
            bad_rows |= columns[name].checks["unique"][1]

    report = _report(frame, columns, expectations, rows_in, int(bad_rows.sum()))
    failures = _failures(report)
    if failures and expectations.on_violation == "fail":
        raise DataError(f"{len(failures)} expectation check(s) failed on {rows_in} rows:\n  "
                        + "\n  ".join(failures),
                        hint="fix the data or the expectations, or set 'expectations.on_violation: drop' "
                             "to remove offending rows (they are counted in the validation report)")

    valid = frame.assign(**{name: column.values for name, column in columns.items() if column.coerced})
    if bad_rows.any():
        valid = valid.loc[~bad_rows].reset_index(drop=True)
        if valid.empty:
            raise DataError(f"every one of the {rows_in} rows breaks an expectation, so none is left:\n  "
                            + "\n  ".join(failures),
                            hint="the data does not look like the expectations describe; check the source "
                                 "and the column types")
    else:
        valid = valid.reset_index(drop=True)
    _check_row_count(expectations, report)
    return valid, report


def _check_column(column: pd.Series, expectation: ColumnExpectation) -> _Column:
    result = _Column(name=str(column.name), values=column)
    if expectation.dtype:
        values, bad = coerce.COERCERS[expectation.dtype](column)
        result.add("dtype", expectation.dtype, bad)
        result.values, result.coerced = values, values is not column
    if not expectation.nullable:
        result.add("nullable", "not null", coerce.mask(column.isna()))
    if expectation.min is not None or expectation.max is not None:
        numbers = _numbers_for_bounds(result)
        if expectation.min is not None:
            result.add("min", f">= {_number(expectation.min)}", coerce.mask(numbers < expectation.min))
        if expectation.max is not None:
            result.add("max", f"<= {_number(expectation.max)}", coerce.mask(numbers > expectation.max))
    if expectation.allowed is not None:
        shown = ", ".join(str(a) for a in expectation.allowed)
        result.add("allowed", f"one of [{shown}]", _not_allowed(result.values, expectation.allowed))
    if expectation.regex is not None:
        result.add("regex", f"matches {expectation.regex}", _regex_mismatch(column, expectation.regex))
    return result


def _numbers_for_bounds(result: _Column) -> pd.Series:
    values = result.values
    if coerce.is_datetime(values) or pd.api.types.is_timedelta64_dtype(values):
        raise SpecError(f"expectations.columns.{result.name}: min/max compare numbers, but the column "
                        f"holds {values.dtype} values",
                        hint="remove min/max for this column")
    if coerce.is_numeric(values):
        return values
    numbers, bad = coerce.to_numeric(values)
    result.add("dtype", "number (implied by min/max)", bad)
    result.values, result.coerced = numbers, True
    return numbers


def _not_allowed(values: pd.Series, allowed: list) -> np.ndarray:
    candidates = list(allowed)
    if coerce.is_numeric(values):
        converted = pd.to_numeric(pd.Series([a for a in allowed if isinstance(a, str)], dtype=object),
                                  errors="coerce")
        candidates += [v for v in converted.tolist() if not pd.isna(v)]
    else:
        candidates += [str(a) for a in allowed]
    return coerce.mask(values.notna()) & ~coerce.mask(values.isin(candidates))


def _regex_mismatch(column: pd.Series, pattern: str) -> np.ndarray:
    present = coerce.mask(column.notna())
    if pd.api.types.is_float_dtype(column) and not coerce.non_integral(column).any():
        column = column.astype("Int64")
    if not isinstance(column.dtype, pd.StringDtype):
        column = column.astype(object).where(column.notna()).astype("str")
    return present & ~coerce.mask(column.str.fullmatch(pattern))


def _duplicates(values: pd.Series, keep: np.ndarray) -> np.ndarray:
    bad = np.zeros(len(values), dtype=bool)
    kept = values[keep]
    bad[np.flatnonzero(keep)] = coerce.mask(kept.duplicated(keep="first") & kept.notna())
    return bad


def _require_present(columns: dict[str, _Column], frame: pd.DataFrame, name: str) -> None:
    column = columns.setdefault(name, _Column(name=name, values=frame[name]))
    column.add("nullable", "not null", coerce.mask(frame[name].isna()))


def _require_timestamp(columns: dict[str, _Column], frame: pd.DataFrame, name: str) -> None:
    column = columns.setdefault(name, _Column(name=name, values=frame[name]))
    if not coerce.is_datetime(column.values):
        values, bad = coerce.to_datetime(column.values)
        column.add("dtype", "datetime", bad)
        column.values, column.coerced = values, True
    _require_present(columns, frame, name)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _report(frame: pd.DataFrame, columns: dict[str, _Column], expectations: ExpectationsSpec,
            rows_in: int, dropped: int) -> dict:
    report_columns: dict[str, dict] = {}
    passed = True
    for name, column in columns.items():
        entry = {}
        for check in sorted(column.checks, key=_CHECK_ORDER.index):
            rule, bad = column.checks[check]
            count = int(bad.sum())
            passed = passed and count == 0
            entry[check] = {"rule": rule, "violations": count, **_examples(frame[name], bad, check)}
        report_columns[name] = entry
    rows_out = rows_in - dropped if expectations.on_violation == "drop" else rows_in
    table = {}
    if expectations.row_count is not None:
        bounds = expectations.row_count
        ok = (bounds.min is None or rows_out >= bounds.min) and (bounds.max is None or rows_out <= bounds.max)
        table["row_count"] = {"min": bounds.min, "max": bounds.max, "actual": rows_out, "passed": ok}
        passed = passed and ok
    return {"passed": passed, "rows_in": rows_in, "rows_out": rows_out, "rows_dropped": rows_in - rows_out,
            "on_violation": expectations.on_violation, "columns": report_columns, "table": table}


def _examples(column: pd.Series, bad: np.ndarray, check: str) -> dict:
    if not bad.any():
        return {"examples": [], "rows": []}
    rows = np.flatnonzero(bad)
    examples = [] if check == "nullable" else [
        str(v) for v in pd.unique(column.iloc[rows[:10_000]].astype(object))[:_EXAMPLES]]
    return {"examples": examples, "rows": [int(r) for r in rows[:_EXAMPLES]]}


def _failures(report: dict) -> list[str]:
    lines = []
    for name, checks in report["columns"].items():
        for check, result in checks.items():
            if result["violations"]:
                shown = result["examples"] or [f"row {r}" for r in result["rows"]]
                lines.append(f"{name}: {check} ({result['rule']}): {result['violations']} row(s), "
                             f"e.g. {', '.join(shown)}")
    return lines


def _check_row_count(expectations: ExpectationsSpec, report: dict) -> None:
    result = report["table"].get("row_count")
    if result is None or result["passed"]:
        return
    actual, dropped = result["actual"], report["rows_dropped"]
    where = (f"after dropping {dropped} of {report['rows_in']} rows that broke expectations, {actual} remain"
             if dropped else f"the data has {actual} rows")
    if result["min"] is not None and actual < result["min"]:
        need = f"at least {result['min']}"
    else:
        need = f"at most {result['max']}"
    raise DataError(f"{where}; expectations.row_count requires {need}",
                    hint="check the data source, or change expectations.row_count")
