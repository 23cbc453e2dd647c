"""Loading the pipeline YAML into a validated ``PipelineSpec``.

Every failure is a :class:`~shipyard.errors.SpecError` whose message names the
file, line and column, the key path, what is wrong, what is allowed and, for a
misspelled key or value, the closest valid one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from shipyard.errors import SpecError
from shipyard.spec._messages import describe
from shipyard.spec._yaml import read_yaml
from shipyard.spec.models import PipelineSpec

_REQUIRED = "a name, and either data, features and model or steps of your own"


@dataclass(frozen=True, kw_only=True)
class LoadedSpec:
    spec: PipelineSpec
    text: str
    path: Path | None
    base_dir: Path
    """Folder that relative data paths resolve against: the spec file's folder."""
    digest: str
    """SHA-256 (hex) of the text's UTF-8 bytes."""


def load_spec(path: str | Path) -> LoadedSpec:
    shown = str(path)
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        problem = "is a folder, not a file" if resolved.is_dir() else "does not exist"
        raise SpecError(f"{shown}: {problem}", hint="give the path of a pipeline YAML file")
    try:
        text = resolved.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})",
                        hint="save the file as UTF-8") from None
    except OSError as exc:
        raise SpecError(f"{shown}: cannot be read: {exc.strerror or exc}") from None
    loaded = parse_spec(text, source=shown, base_dir=resolved.parent)
    return LoadedSpec(spec=loaded.spec, text=text, path=resolved, base_dir=resolved.parent, digest=loaded.digest)


def parse_spec(text: str, *, source: str = "<string>", base_dir: Path | None = None) -> LoadedSpec:
    data, positions = read_yaml(text, source)
    if data is None:
        raise SpecError(f"{source}:1:1: the file is empty", hint=f"a pipeline needs at least {_REQUIRED}")
    if not isinstance(data, dict):
        kind = "list" if isinstance(data, list) else f"single value ({data!r})"
        line, column = positions.key(())
        raise SpecError(f"{source}:{line}:{column}: the top level must be a mapping of keys, not a {kind}",
                        hint=f"a pipeline needs at least {_REQUIRED}; run `shipyard schema` for every key")
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(describe(exc, source=source, positions=positions)) from None
    return LoadedSpec(spec=spec, text=text, path=None, base_dir=(base_dir or Path.cwd()).resolve(),
                      digest=hashlib.sha256(text.encode("utf-8")).hexdigest())
