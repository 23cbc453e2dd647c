"""Durations in the YAML: seconds, or a string like '90s', '15m', '2h'."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string like '90s', '15m', '2h'."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"'{value}' is not a duration; use seconds or a string like '90s', '15m', '2h'")
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


def format_duration(seconds: float) -> str:
    """Seconds as the YAML writes them, in the largest unit they reach: 5400 is '1.5h', 90 is '1.5m'."""
    for unit in ("d", "h", "m"):
        if seconds >= _DURATION_UNITS[unit]:
            return f"{seconds / _DURATION_UNITS[unit]:.4g}{unit}"
    return f"{seconds:.4g}s"


Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema({
    "anyOf": [{"type": "number", "exclusiveMinimum": 0},
              {"type": "string", "pattern": _DURATION.pattern, "examples": ["90s", "15m", "2h"]}]})]
