"""Drift between two data sets — files, globs, folders or queries — with no model involved.

The reference is profiled one column at a time (its exact quantiles need the whole
column); the current data is streamed batch by batch into counts over the reference's
bins and categories. The statistics, thresholds and severities are those of
``shipyard monitor``; only where the values come from differs.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.data.tables import Table, open_table
from shipyard.errors import DataError, NotEnoughDataError, UsageError
from shipyard.monitoring.counts import CategoryCounts, NumericCounts
from shipyard.monitoring.drift import judge_categorical, judge_numeric, summarize, worst
from shipyard.monitoring.profile import categorical_profile_of_counts, numeric_profile
from shipyard.spec.monitoring import MonitoringSpec

NUMERIC, CATEGORICAL = "numeric", "categorical"


def data_drift(reference: str | Path | Any, current: str | Path | Any, *, columns: Sequence[str] | None = None,
               spec: MonitoringSpec | None = None, database: str | None = None,
               duckdb_database: str | None = None, base_dir: Path | None = None) -> dict[str, Any]:
    """The drift of ``current`` against ``reference``, column by column, as ``shipyard monitor`` judges it.

    Each side is a path, glob or folder of Parquet or CSV files, ``duckdb:QUERY`` (in memory, or in the
    DuckDB file ``duckdb_database``), ``sql:QUERY`` (against the SQLAlchemy URL ``database``), a
    ``pyarrow.Table`` or a pandas DataFrame. ``columns``
    limits the comparison (default: every column both sides have). Returns the report (JSON-ready):
    ``severity``, ``drifted``, ``features`` (each column's statistics) and where the data came from.
    """
    spec = spec or MonitoringSpec()
    databases = {"database": database, "duckdb_database": duckdb_database}
    ref, cur = _open(reference, base_dir, databases), _open(current, base_dir, databases)
    kinds, skipped = _column_kinds(ref, cur, columns)
    for side, table in (("reference", ref), ("current", cur)):
        if table.rows < spec.min_rows:
            raise NotEnoughDataError(f"the {side} data ({table.description}) has {table.rows} row(s); at least "
                                     f"{spec.min_rows} are needed to judge drift",
                                     hint="point it at more data (a glob of files, a wider query)")
    with ThreadPoolExecutor(max_workers=min(len(kinds), os.cpu_count() or 1)) as pool:
        judged = pool.map(lambda name: _judge_column(name, kinds[name], ref, cur, spec), kinds)
        features = dict(zip(kinds, judged))
    missing = [name for name in ref.schema.names if name not in cur.schema.names] if columns is None else []
    result = summarize(features, None, missing, spec)
    if missing:
        result["severity"] = worst(result["severity"], "warning")
    return {"reference": {"source": ref.description, "rows": ref.rows},
            "current": {"source": cur.description, "rows": cur.rows},
            "rows": cur.rows, "reference_rows": ref.rows, "skipped_columns": skipped,
            "extra_columns": [name for name in cur.schema.names if name not in ref.schema.names]
            if columns is None else [],
            "thresholds": spec.model_dump(mode="json"), **result}


def _open(data: str | Path | Any, base_dir: Path | None, databases: dict[str, str | None]) -> Table:
    pandas = sys.modules.get("pandas")  # a DataFrame can only exist once pandas is loaded
    if pandas is not None and isinstance(data, pandas.DataFrame):
        from shipyard.data.sources import frame_to_arrow

        data = frame_to_arrow(data)
    elif not isinstance(data, (str, Path, pa.Table)):
        raise UsageError(f"cannot compare a {type(data).__name__}",
                         hint="pass a path, glob or folder of Parquet/CSV files, duckdb:QUERY, sql:QUERY, "
                              "a pyarrow.Table or a pandas DataFrame")
    return open_table(data, base_dir=base_dir, **databases)


def _kind(kind: pa.DataType) -> str | None:
    """How a column of this Arrow type is judged; None: not at all (times, bytes, nested values).

    A dictionary-encoded column (a pandas categorical, also when written to Parquet) holds categories,
    whatever its values' type, as :func:`shipyard.monitoring.profile.is_numeric` judges it in memory.
    """
    if pa.types.is_dictionary(kind):
        value_type = kind.value_type
        return CATEGORICAL if _kind(value_type) is not None else None
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return NUMERIC
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind) or \
            getattr(pa.types, "is_string_view", lambda _: False)(kind):
        return CATEGORICAL
    return None


def _described(kind: pa.DataType) -> str:
    what = {NUMERIC: "numbers", CATEGORICAL: "categories"}.get(_kind(kind), "values")
    return f"{what} ({kind})"


def _column_kinds(ref: Table, cur: Table, columns: Sequence[str] | None) -> tuple[dict[str, str], list[dict]]:
    """The columns to judge and how; the common ones the data's types leave out, with the reason."""
    if columns is not None:
        for name in columns:
            for side, table in (("reference", ref), ("current", cur)):
                if name not in table.schema.names:
                    raise DataError(f"column '{name}' is not in the {side} data ({table.description})",
                                    hint=f"its columns: {_listing(table.schema.names)}")
        names = list(dict.fromkeys(columns))
    else:
        names = [name for name in ref.schema.names if name in cur.schema.names]
        if not names:
            raise DataError(f"the reference ({ref.description}) and the current data ({cur.description}) have "
                            "no column in common",
                            hint=f"reference columns: {_listing(ref.schema.names)}; current columns: "
                                 f"{_listing(cur.schema.names)}")
    kinds, skipped = {}, []
    for name in names:
        ref_type, cur_type = ref.schema.field(name).type, cur.schema.field(name).type
        ref_kind, cur_kind = _kind(ref_type), _kind(cur_type)
        if pa.types.is_null(ref_type) or pa.types.is_null(cur_type):  # no values on that side: any type fits
            ref_kind = cur_kind = ref_kind or cur_kind
            if ref_kind is None and pa.types.is_null(ref_type) and pa.types.is_null(cur_type):
                skipped.append({"column": name, "reason": "no values on either side"})
                continue
        if ref_kind != cur_kind:
            raise DataError(f"column '{name}' holds {_described(ref_type)} in the reference but "
                            f"{_described(cur_type)} in the current data",
                            hint="make the types agree (cast it in a duckdb: query), or leave the column out "
                                 "with --columns")
        if ref_kind is None:
            if columns is not None:
                raise DataError(f"column '{name}' holds {ref_type} values, which drift is not computed for",
                                hint="drift compares numbers and categories (text, booleans); leave it out of "
                                     "--columns or convert it in a duckdb: query")
            skipped.append({"column": name, "reason": f"{ref_type} values are not compared"})
            continue
        kinds[name] = ref_kind
    if not kinds:
        raise DataError("none of the columns both data sets have holds numbers or categories",
                        hint="; ".join(f"{s['column']}: {s['reason']}" for s in skipped[:8]))
    return kinds, skipped


def _numbers(values: pa.Array) -> np.ndarray:
    """The values as float64 NumPy, nulls as NaN, read straight from the Arrow buffers: pyarrow's own
    conversion loads pandas, which would double the command's start-up time."""
    chunk = pc.cast(values, pa.float64())
    if not len(chunk):
        return np.empty(0)
    validity, data = chunk.buffers()[:2]
    if data is None:  # an all-null column
        return np.full(len(chunk), np.nan)
    values = np.frombuffer(data, dtype=np.float64, count=chunk.offset + len(chunk))[chunk.offset:]
    if chunk.null_count:
        valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=chunk.offset + len(chunk),
                              bitorder="little")[chunk.offset:]
        values = np.where(valid.view(bool), values, np.nan)
    return values


def _category_counts(values: pa.Array) -> tuple[list[str], list[int]]:
    """Counts per category as text (``True``/``False`` for booleans, as pandas writes them), nulls left out."""
    counted = pc.value_counts(values)
    categories, counts = counted.field("values").to_pylist(), counted.field("counts").to_pylist()
    present = [(str(c), n) for c, n in zip(categories, counts) if c is not None]
    return [c for c, _ in present], [n for _, n in present]


def _judge_column(name: str, kind: str, ref: Table, cur: Table, spec: MonitoringSpec) -> dict[str, Any]:
    """One column: the reference's profile from its whole column, then the current values streamed into counts."""
    reference = _profile(ref.column_chunks(name), kind)
    counter = NumericCounts(reference) if kind == NUMERIC else CategoryCounts()
    for chunk in cur.column_chunks(name):
        _count(counter, chunk)
    if isinstance(counter, NumericCounts):
        return judge_numeric(reference, counter, spec)
    return judge_categorical(reference, *counter.ranked(), counter.nulls, spec)


def _profile(chunks: Iterable[pa.Array], kind: str) -> dict[str, Any]:
    if kind == NUMERIC:
        arrays = [_numbers(chunk) for chunk in chunks]
        return numeric_profile(np.concatenate(arrays) if len(arrays) != 1 else arrays[0])
    counts = CategoryCounts()
    for chunk in chunks:
        counts.add(*_category_counts(chunk), nulls=chunk.null_count)
    return categorical_profile_of_counts(*counts.ranked(), counts.nulls)


def _count(counter: NumericCounts | CategoryCounts, values: pa.Array) -> None:
    if isinstance(counter, NumericCounts):
        counter.add(_numbers(values))
    else:
        counter.add(*_category_counts(values), nulls=values.null_count)


def _listing(names: list[str], limit: int = 12) -> str:
    return ", ".join(names[:limit]) + (" …" if len(names) > limit else "") if names else "(none)"
