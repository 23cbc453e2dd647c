"""Naming columns that are not there, with the closest match."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from shipyard.errors import DataError

_LISTED = 40


def closest(name: str, available: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(name, [str(c) for c in available], n=1, cutoff=0.6)
    if matches:
        return matches[0]
    lowered = {str(c).lower(): str(c) for c in available}
    return lowered.get(name.lower())


def describe_columns(available: Sequence[str]) -> str:
    names = [str(c) for c in available]
    shown = ", ".join(names[:_LISTED])
    if len(names) > _LISTED:
        shown += f", ... ({len(names) - _LISTED} more)"
    return shown or "(none)"


def missing_columns_error(missing: Sequence[str], available: Sequence[str], *, where: str,
                          fix: str) -> DataError:
    """A DataError for columns named in ``where`` that the data lacks; ``fix`` says what to edit."""
    parts = []
    for name in missing:
        suggestion = closest(name, available)
        parts.append(f"'{name}'" + (f" (did you mean '{suggestion}'?)" if suggestion else ""))
    noun = "column" if len(missing) == 1 else "columns"
    return DataError(f"{where} names {noun} {', '.join(parts)} that the data does not have; "
                     f"columns: {describe_columns(available)}",
                     hint=fix)


def check_columns(names: Iterable[str], available: Sequence[str], *, where: str, fix: str) -> None:
    present = {str(c) for c in available}
    missing = list(dict.fromkeys(n for n in names if n not in present))
    if missing:
        raise missing_columns_error(missing, available, where=where, fix=fix)
