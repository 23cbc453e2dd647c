"""Names and values MLflow accepts for params and metrics.

MLflow allows letters, digits, ``_ - . /`` and spaces in keys (colons too, but
not on Windows), at most 250 characters, and param values of at most 6000
characters. Slashes and colons are replaced as well, because MLflow treats keys
as paths and Windows refuses colons.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import re
from typing import Any

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
_DISALLOWED = re.compile(r"[^\w.\- ]")
_TRUNCATED = " …[truncated]"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _part(value: Any) -> str:
    text = str(value)
    clean = _DISALLOWED.sub("_", text)
    return clean if clean == text and text else f"{clean}-{_short_hash(text)}"


def mlflow_key(*parts: Any) -> str:
    """Parts joined by dots; a part MLflow would reject is cleaned and suffixed with a hash of its original."""
    key = ".".join(_part(part) for part in parts)
    if len(key) > MAX_KEY_LENGTH:
        key = f"{key[:MAX_KEY_LENGTH - 9]}-{_short_hash(key)}"
    return key


def param_value(value: Any) -> str:
    text = str(value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        text = text[:MAX_PARAM_VALUE_LENGTH - len(_TRUNCATED)] + _TRUNCATED
    return text


def metric_value(value: Any) -> float | None:
    """A float for MLflow, or None for what is not a number (None, text, booleans)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if not math.isinf(number) else math.copysign(1.7976931348623157e308, number)
