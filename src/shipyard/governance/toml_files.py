"""The operator's TOML files (quotas, prices): read and parsed with one kind of error for each file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from shipyard.errors import SpecError


def read_text(path: Path, *, headline: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {path}: {exc}", headline=headline,
                        hint="give a readable UTF-8 TOML file") from None


def parse_document(text: str, *, source: str, headline: str, example: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML: {exc}", headline=headline,
                        hint=f"see https://toml.io for the syntax; {example}") from None
