"""Team quotas, declared in the server's TOML file (``SHIPYARD_QUOTAS``, or ``quotas.toml`` under the home).

::

    [default]               # every team not listed below, and the keys a listed team leaves out
    runs = 4

    [teams.fraud]
    runs = 2                # pipeline runs at once
    cpu = 8                 # cores reserved by its running runs
    memory = "32GiB"        # bytes, or a size like "512MiB"
    gpus = 1
    sweep_trials = 4        # sweep trials running at once, over all its runs

A key left out (in the team's table and in ``[default]``) does not limit. No file declares no quotas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipyard.config import Settings
from shipyard.errors import SpecError
from shipyard.governance.toml_files import parse_document, read_text

_HEADLINE = "invalid quota file"

LIMITS = {"runs": "a whole number of runs, at least 1", "cpu": "a number of cores, above 0",
          "memory": 'bytes, or a size like "32GiB"', "gpus": "a whole number of GPUs, at least 0",
          "sweep_trials": "a whole number of trials, at least 1"}
SECTIONS = ("default", "teams")


@dataclass(frozen=True, kw_only=True)
class Quota:
    """What one team may hold at once; None does not limit."""

    runs: int | None = None
    cpu: float | None = None
    memory: int | None = None
    gpus: int | None = None
    sweep_trials: int | None = None

    @property
    def limits_anything(self) -> bool:
        return any(getattr(self, name) is not None for name in LIMITS)


@dataclass(frozen=True, kw_only=True)
class QuotaTable:
    source: str
    default: Quota = field(default_factory=Quota)
    teams: dict[str, Quota] = field(default_factory=dict)

    def for_team(self, team: str | None) -> Quota | None:
        """The team's quota (its keys over ``[default]``'s); None when nothing limits it or the run has no team."""
        if team is None:
            return None
        quota = self.teams.get(team, self.default)
        return quota if quota.limits_anything else None


def load_quotas(settings: Settings) -> QuotaTable | None:
    """The declared quotas, or None when the settings name no quota file."""
    if settings.quotas_file is None:
        return None
    path = settings.quotas_file
    return parse_quotas(read_text(path, headline=_HEADLINE), source=str(path))


def parse_quotas(text: str, *, source: str) -> QuotaTable:
    document = parse_document(text, source=source, headline=_HEADLINE, example=_example())
    unknown = sorted(set(document) - set(SECTIONS))
    if unknown:
        raise _invalid(f"{source}: unknown key '{unknown[0]}'; the file holds [default] and [teams.NAME] tables",
                       _example())
    default = _quota(document.get("default", {}), "default", source, Quota())
    teams_table = document.get("teams", {})
    if not isinstance(teams_table, dict):
        raise _invalid(f"{source}:teams must be a table of teams, e.g. [teams.fraud]", _example())
    teams = {name: _quota(table, f"teams.{name}", source, default) for name, table in teams_table.items()}
    return QuotaTable(source=source, default=default, teams=teams)


def _quota(table: Any, where: str, source: str, base: Quota) -> Quota:
    if not isinstance(table, dict):
        raise _invalid(f"{source}:{where} must be a table of limits ({', '.join(LIMITS)})", _example())
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in LIMITS:
            raise _invalid(f"{source}:{where}.{key} is not a quota; allowed: {', '.join(LIMITS)}", _example())
        values[key] = _limit(key, value, f"{source}:{where}.{key}")
    merged = {name: values.get(name, getattr(base, name)) for name in LIMITS}
    return Quota(**merged)


def _limit(key: str, value: Any, where: str) -> int | float:
    bad = _invalid(f"{where} = {value!r} is not allowed; give {LIMITS[key]}", _example())
    if isinstance(value, bool):
        raise bad
    if key == "memory":
        from shipyard.spec.models import parse_size

        try:
            return parse_size(value)
        except ValueError:
            raise bad from None
    if key == "cpu":
        if not isinstance(value, (int, float)) or not value > 0:
            raise bad
        return float(value)
    if not isinstance(value, int) or value < (0 if key == "gpus" else 1):
        raise bad
    return value


def _invalid(message: str, hint: str) -> SpecError:
    return SpecError(message, headline=_HEADLINE, hint=hint)


def _example() -> str:
    return 'e.g. [teams.fraud] runs = 2, cpu = 8, memory = "32GiB", gpus = 1, sweep_trials = 4'
