"""Checking request columns against a version's input signature, column by column."""

from __future__ import annotations

import math
from typing import Any

from shipyard.serving.errors import RequestError

_INTEGER = {"long", "integer"}
_FLOAT = {"double", "float"}


def _check_value(column: str, kind: str, value: Any) -> str | None:
    if value is None:
        return None
    if kind in _INTEGER:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not value.is_integer()):
            return f"expected an integer, got {value!r}"
    elif kind in _FLOAT:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number, got {value!r}"
        if not math.isfinite(value):
            return f"non-finite number {value!r} is not allowed"
    elif kind == "string":
        if not isinstance(value, str):
            return f"expected a string, got {value!r}"
    elif kind == "boolean":
        if not isinstance(value, (bool, int)) or value not in (0, 1, True, False):
            return f"expected a boolean, got {value!r}"
    return None


def validate_columns(columns: dict[str, list], signature: dict[str, str]) -> int:
    """Raise a 422 with every problem found; return the number of rows."""
    problems: list[dict[str, str]] = []
    for name in signature:
        if name not in columns:
            problems.append({"field": name, "message": f"missing column (expected {signature[name]})"})
    for name in columns:
        if name not in signature:
            problems.append({"field": name, "message": "unexpected column; the model takes: "
                             + ", ".join(signature)})
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        problems.append({"field": "(rows)", "message": f"columns have different lengths: {sorted(lengths)}"})
    for name, kind in signature.items():
        for row, value in enumerate(columns.get(name, [])):
            reason = _check_value(name, kind, value)
            if reason:
                problems.append({"field": f"{name}[{row}]", "message": reason})
                break
    if problems:
        raise RequestError(422, "the request does not match the model's input signature", problems[:50])
    rows = lengths.pop() if lengths else 0
    if rows == 0:
        raise RequestError(422, "the request has no rows")
    return rows
