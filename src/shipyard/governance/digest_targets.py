"""Where the cost digest goes: the ``[digest]`` table of the operator's price list (``SHIPYARD_PRICES``).

::

    [digest]
    webhook = "https://hooks.example.com/platform"   # the whole digest (optional)
    format = "text"                                   # text, json or html (default text)

    [digest.teams.growth]
    webhook = "https://hooks.example.com/growth"     # the growth team's part only
    format = "json"                                   # optional, else [digest]'s format

A team without a table gets no digest of its own; no ``[digest]`` table declares no targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipyard.config import Settings
from shipyard.errors import SpecError
from shipyard.governance.toml_files import parse_document, read_text

FORMATS = ("text", "json", "html")
_HEADLINE = "invalid digest targets"
_KEYS = ("webhook", "format", "teams")
_TEAM_KEYS = ("webhook", "format")


@dataclass(frozen=True, kw_only=True)
class DigestTarget:
    url: str
    format: str = "text"
    team: str | None = None
    """The team whose part is posted; None: the whole digest."""

    @property
    def name(self) -> str:
        return f"team {self.team}" if self.team is not None else "platform"


@dataclass(frozen=True, kw_only=True)
class DigestTargets:
    source: str = "no price list"
    platform: DigestTarget | None = None
    teams: dict[str, DigestTarget] = field(default_factory=dict)

    @property
    def all(self) -> list[DigestTarget]:
        return ([self.platform] if self.platform else []) + [self.teams[team] for team in sorted(self.teams)]


def load_digest_targets(settings: Settings) -> DigestTargets:
    """The declared targets; none when no price list is declared or it has no ``[digest]`` table."""
    if settings.prices_file is None:
        return DigestTargets()
    path = settings.prices_file
    document = parse_document(read_text(path, headline=_HEADLINE), source=str(path), headline=_HEADLINE,
                              example=_example())
    return parse_digest_targets(document.get("digest"), source=str(path))


def parse_digest_targets(table: Any, *, source: str) -> DigestTargets:
    """``[digest]`` as parsed from TOML (None when the file has none)."""
    if table is None:
        return DigestTargets(source=source)
    if not isinstance(table, dict):
        raise _invalid(f"{source}:digest must be a table, e.g. [digest] webhook = \"https://…\"")
    _known(table, _KEYS, f"{source}:digest")
    default_format = _format(table.get("format", "text"), f"{source}:digest.format")
    platform = None
    if "webhook" in table:
        platform = DigestTarget(url=_url(table["webhook"], f"{source}:digest.webhook"), format=default_format)
    teams_table = table.get("teams", {})
    if not isinstance(teams_table, dict):
        raise _invalid(f"{source}:digest.teams must hold one table per team, e.g. [digest.teams.growth]")
    teams = {}
    for team, entry in teams_table.items():
        where = f"{source}:digest.teams.{team}"
        if not isinstance(entry, dict):
            raise _invalid(f"{where} must be a table with a webhook, "
                           f"e.g. [digest.teams.{team}] webhook = \"https://…\"")
        _known(entry, _TEAM_KEYS, where)
        if "webhook" not in entry:
            raise _invalid(f"{where} has no webhook; give the URL the team's part is posted to")
        teams[team] = DigestTarget(url=_url(entry["webhook"], f"{where}.webhook"),
                                   format=_format(entry.get("format", default_format), f"{where}.format"), team=team)
    return DigestTargets(source=source, platform=platform, teams=teams)


def _known(table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise _invalid(f"{where}: unknown key '{unknown[0]}'; allowed: {', '.join(allowed)}")


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise _invalid(f"{where} = {value!r} is not an http(s) URL; give one like \"https://hooks.slack.com/…\"")
    return value


def _format(value: Any, where: str) -> str:
    if value not in FORMATS:
        raise _invalid(f"{where} = {value!r} is not a digest format; use one of {', '.join(FORMATS)}")
    return value


def _invalid(message: str) -> SpecError:
    return SpecError(message, headline=_HEADLINE, hint=_example())


def _example() -> str:
    return ('e.g. [digest] webhook = "https://hooks.example.com/all", then [digest.teams.growth] '
            'webhook = "https://hooks.example.com/growth"')
