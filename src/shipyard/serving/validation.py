"""Checking request columns against a version's input signature, column by column.

Each column is validated in one pydantic call (a loop in Rust, not Python) against its
kind: integers must fit int64, numbers must be finite (NaN and null both mean "missing"),
strings and booleans must be what they say. A missing value is accepted only in the
columns the version was seen to handle missing values in when it was loaded.
"""

from __future__ import annotations

import math
import reprlib
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, Strict, TypeAdapter, ValidationError

from shipyard.serving.errors import RequestError

# an integral float must lie strictly inside the int64 range: an int just outside it rounds onto its ends
_Integer = (Annotated[int, Strict(), Field(ge=-2**63, lt=2**63)]
            | Annotated[float, Strict(), Field(multiple_of=1, gt=-2**63, lt=2**63)])
_COLUMN_TYPES = {
    "long": TypeAdapter(list[_Integer | None]),
    "integer": TypeAdapter(list[_Integer | None]),
    "double": TypeAdapter(list[Annotated[float, Strict()] | None]),
    "float": TypeAdapter(list[Annotated[float, Strict()] | None]),
    "string": TypeAdapter(list[Annotated[str, Strict()] | None]),
    "boolean": TypeAdapter(list[Annotated[bool, Strict()] | Literal[0, 1] | None]),
}
_EXPECTED = {"long": "an integer in the int64 range", "integer": "an integer in the int64 range",
             "double": "a number", "float": "a number", "string": "a string",
             "boolean": "a boolean (true, false, 0 or 1)"}
FLOAT_KINDS = frozenset({"double", "float"})
_SHORT = 64
"""Columns up to this many rows are checked by Python's own loops, which beat a library round trip there."""


def _shown(value: object) -> str:
    text = reprlib.repr(value)  # bounded in depth and length, so a deeply nested value cannot recurse
    return text if len(text) <= 60 else text[:57] + "..."


def _column_problem(name: str, kind: str, values: list) -> tuple[list | None, dict[str, str] | None]:
    adapter = _COLUMN_TYPES.get(kind)
    if adapter is None:
        return values, None
    if kind in FLOAT_KINDS and len(values) <= _SHORT and all(type(v) is float for v in values):
        checked = values  # what the adapter would return; the common case of a few rows skips its call
    else:
        try:
            checked = adapter.validate_python(values)
        except ValidationError as exc:
            row = exc.errors(include_url=False)[0]["loc"][0]
            return None, {"field": f"{name}[{row}]",
                          "message": f"expected {_EXPECTED[kind]}, got {_shown(values[row])}"}
    if kind in FLOAT_KINDS and (math.inf in checked or -math.inf in checked):
        row = next(i for i, v in enumerate(checked) if v in (math.inf, -math.inf))
        return None, {"field": f"{name}[{row}]", "message": f"non-finite number {checked[row]!r} is not allowed"}
    return checked, None


def _first_missing(kind: str, values: list) -> int | None:
    if None in values:
        return values.index(None)
    if kind not in FLOAT_KINDS:
        return None
    if len(values) <= _SHORT:
        return next((i for i, missing in enumerate(map(math.isnan, values)) if missing), None)
    missing = np.isnan(np.asarray(values, dtype="float64"))
    return int(missing.argmax()) if missing.any() else None


def validate_columns(columns: dict[str, list], signature: dict[str, str],
                     accepts_missing: frozenset[str] | None = None) -> tuple[dict[str, list], int]:
    """The columns as checked values, and the number of rows; a 422 with every problem found.

    ``accepts_missing``: the columns where null/NaN may appear (None: all of them).
    """
    problems: list[dict[str, str]] = []
    for name in signature:
        if name not in columns:
            problems.append({"field": name, "message": f"missing column (expected {signature[name]})"})
    for name in columns:
        if name not in signature:
            problems.append({"field": name or '""', "message": "unexpected column; the model takes: "
                             + ", ".join(signature)})
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        problems.append({"field": "(rows)", "message": f"columns have different lengths: {sorted(lengths)}"})
    checked: dict[str, list] = {}
    for name, kind in signature.items():
        if name not in columns:
            continue
        values, problem = _column_problem(name, kind, columns[name])
        if problem is None and accepts_missing is not None and name not in accepts_missing:
            row = _first_missing(kind, values)
            if row is not None:
                problem = {"field": f"{name}[{row}]", "message": "a missing value (null or NaN); this version "
                           "cannot predict without it"}
        if problem is not None:
            problems.append(problem)
        else:
            checked[name] = values
    if problems:
        raise RequestError(422, "the request does not match the model's input signature", problems[:50],
                           hint="see the model's inputs at /v2/models/NAME")
    rows = lengths.pop() if lengths else 0
    if rows == 0:
        raise RequestError(422, "the request has no rows", [{"field": "(rows)", "message": "send at least one row"}])
    return checked, rows
