"""The ``schedule:`` key: a five-field cron expression or one of the schedulers' presets."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

PRESETS = ("@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_NAMES = {"month": ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
          "day of week": ("sun", "mon", "tue", "wed", "thu", "fri", "sat")}
_PATTERN = r"^(@[a-z]+|\S+\s+\S+\s+\S+\s+\S+\s+\S+)$"
_PART = re.compile(r"^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?$")


def _number(text: str, field: str, low: int) -> int:
    names = _NAMES.get(field, ())
    if text in names:
        return names.index(text) + (1 if field == "month" else 0)
    if not text.isdigit():
        raise ValueError(f"'{text}' is not a {field}")
    return int(text)


def _check_field(text: str, field: str, low: int, high: int) -> None:
    for part in text.lower().split(","):
        match = _PART.match(part)
        if not match:
            raise ValueError(f"'{part}' is not a valid {field} (numbers, ranges a-b, lists a,b, steps */n)")
        values, step = match.group(1), match.group(2)
        if step is not None and int(step) == 0:
            raise ValueError(f"the step in '{part}' ({field}) must be at least 1")
        if values == "*":
            continue
        bounds = [_number(v, field, low) for v in values.split("-")]
        for value in bounds:
            if not low <= value <= high:
                raise ValueError(f"{value} is out of range for the {field} ({low}-{high})")
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            raise ValueError(f"the range '{values}' ({field}) runs backwards")


def check_schedule(value: str) -> str:
    text = value.strip()
    if text.startswith("@"):
        if text not in PRESETS:
            raise ValueError(f"'{text}' is not a schedule preset; presets are {', '.join(PRESETS)}, "
                             "or give a cron expression like '0 3 * * 1'")
        return text
    fields = text.split()
    if len(fields) != len(_FIELDS):
        raise ValueError(f"'{text}' has {len(fields)} fields; a cron expression has five (minute hour "
                         "day-of-month month day-of-week, e.g. '0 3 * * 1'), or use a preset like '@weekly'")
    for raw, (field, low, high) in zip(fields, _FIELDS):
        _check_field(raw, field, low, high)
    return " ".join(fields)


Schedule = Annotated[str, Field(json_schema_extra={"pattern": _PATTERN}, description="When a scheduler starts the pipeline: a cron "
                                "expression ('0 3 * * 1') or a preset (" + ", ".join(PRESETS) + ")."),
                     AfterValidator(check_schedule)]
