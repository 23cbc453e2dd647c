"""Loading the pipeline YAML into a validated ``PipelineSpec``.

Errors name the file, line and column, the key path, what is wrong, what is
allowed and, for a misspelled key, the closest valid one.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from shipyard.errors import SpecError
from shipyard.spec.models import PipelineSpec

_MAX_ERRORS = 10
_BUILTIN_STEPS = ("ingest", "validate", "split", "features", "sweep", "train", "evaluate", "register")


@dataclass(frozen=True, kw_only=True)
class LoadedSpec:
    spec: PipelineSpec
    text: str
    path: Path | None
    base_dir: Path
    digest: str


def load_spec(path: str | Path) -> LoadedSpec:
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise SpecError(f"{path}: no such file", hint="give the path of a pipeline YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot be read: {exc}") from None
    loaded = parse_spec(text, source=str(path), base_dir=path.parent)
    return LoadedSpec(spec=loaded.spec, text=text, path=path, base_dir=path.parent, digest=loaded.digest)


def parse_spec(text: str, *, source: str = "<string>", base_dir: Path | None = None) -> LoadedSpec:
    data, positions = _parse_yaml(text, source)
    if data is None:
        raise SpecError(f"{source}: the file is empty", hint="a pipeline needs at least name, data, features, model")
    if not isinstance(data, dict):
        raise SpecError(f"{source}:1:1: the top level must be a mapping of keys (name, data, features, model, …), "
                        f"not a {type(data).__name__}")
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_describe(exc, source, positions)) from None
    _check_step_names(spec, source, positions)
    return LoadedSpec(spec=spec, text=text, path=None, base_dir=(base_dir or Path.cwd()).resolve(),
                      digest=hashlib.sha256(text.encode()).hexdigest())


# ---------------------------------------------------------------- YAML with positions


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[tuple, tuple[int, int]]]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        if "duplicate key" in str(exc).lower():
            problem = str(exc.problem).split("\n")[0]
        raise SpecError(f"{where}: malformed YAML: {problem}",
                        hint="check indentation, colons and quotes around that position") from None
    except YAMLError as exc:
        raise SpecError(f"{source}: malformed YAML: {exc}") from None
    positions: dict[tuple, tuple[int, int]] = {}
    return _plain(document, (), positions), positions


def _plain(node: Any, path: tuple, positions: dict[tuple, tuple[int, int]]) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarfloat import ScalarFloat
    from ruamel.yaml.scalarint import ScalarInt
    from ruamel.yaml.scalarbool import ScalarBoolean

    if isinstance(node, CommentedMap):
        if not path:
            positions[()] = (node.lc.line + 1, node.lc.col + 1)
        out = {}
        for key in node:
            line, col = node.lc.key(key)
            positions[path + (str(key),)] = (line + 1, col + 1)
            out[str(key)] = _plain(node[key], path + (str(key),), positions)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            line, col = node.lc.item(index)
            positions[path + (index,)] = (line + 1, col + 1)
            items.append(_plain(item, path + (index,), positions))
        return items
    if isinstance(node, ScalarBoolean):
        return bool(node)
    if isinstance(node, ScalarInt):
        return int(node)
    if isinstance(node, ScalarFloat):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


# ---------------------------------------------------------------- error messages


def _describe(exc: ValidationError, source: str, positions: dict[tuple, tuple[int, int]]) -> str:
    lines = []
    errors = exc.errors(include_url=False)
    for error in errors[:_MAX_ERRORS]:
        lines.append(_one_error(error, source, positions))
    if len(errors) > _MAX_ERRORS:
        lines.append(f"… and {len(errors) - _MAX_ERRORS} more")
    head = f"{len(errors)} problem{'s' if len(errors) > 1 else ''} in {source}:" if len(errors) > 1 else ""
    return "\n".join([head, *lines] if head else lines)


def _data_path(loc: tuple) -> tuple:
    """Drop pydantic's union-member tags (e.g. 'csv', 'impute') from an error location."""
    path = []
    for part in loc:
        if isinstance(part, str) and (part in _UNION_TAGS or part.startswith("function-")):
            continue
        path.append(part)
    return tuple(path)


_UNION_TAGS = {"csv", "parquet", "sql", "duckdb", "impute", "scale", "one_hot", "ordinal", "log", "clip",
               "bucketize", "passthrough", "drop", "float", "int", "categorical", "list[float]"}


def _where(path: tuple, source: str, positions: dict[tuple, tuple[int, int]]) -> str:
    probe = path
    while probe not in positions and probe:
        probe = probe[:-1]
    line, col = positions.get(probe, (1, 1))
    return f"{source}:{line}:{col}"


def _key_path(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _one_error(error: dict[str, Any], source: str, positions) -> str:
    path = _data_path(tuple(error["loc"]))
    kind = error["type"]
    where = _where(path, source, positions)
    key = _key_path(path)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1])
        bad = str(path[-1])
        close = difflib.get_close_matches(bad, allowed, n=1, cutoff=0.6)
        suggestion = f"; did you mean '{close[0]}'?" if close else ""
        return f"{where}: unknown key '{bad}' at {key}{suggestion} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return f"{where}: missing required key '{path[-1]}' at {key}"
    if kind in ("union_tag_invalid", "literal_error"):
        ctx = error.get("ctx", {})
        expected = ctx.get("expected_tags") or ctx.get("expected", "")
        given = error.get("input")
        if kind == "union_tag_invalid":
            path = path + (str(ctx.get("discriminator", "type")).strip("'"),)
            where, key, given = _where(path, source, positions), _key_path(path), ctx.get("tag")
        options = [o.strip().strip("'\"") for o in str(expected).replace(" or ", ",").split(",") if o.strip()]
        close = difflib.get_close_matches(str(given), options, n=1, cutoff=0.5) if given is not None else []
        suggestion = f"; did you mean '{close[0]}'?" if close else ""
        return f"{where}: {key} is {given!r}, which is not allowed{suggestion} (allowed: {', '.join(options)})"
    if kind == "union_tag_not_found":
        return f"{where}: {key} needs a '{error.get('ctx', {}).get('discriminator', 'type').strip(chr(39))}' key"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    given = error.get("input")
    shown = "" if isinstance(given, (dict, list)) or given is None else f" (got {given!r})"
    return f"{where}: {key}: {message}{shown}"


def _allowed_keys(path: tuple) -> list[str]:
    model: Any = PipelineSpec
    for part in path:
        model = _step_into(model, part)
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _step_into(model: Any, part: Any) -> Any:
    import typing

    if isinstance(part, int):
        args = typing.get_args(model)
        return args[0] if args else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
        return None
    annotation = model.model_fields[part].annotation
    return _unwrap(annotation)


def _unwrap(annotation: Any) -> Any:
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(members[0]) if len(members) == 1 else annotation
    if origin is dict:
        return typing.get_args(annotation)[1] if typing.get_args(annotation) else None
    return annotation


def _check_step_names(spec: PipelineSpec, source: str, positions) -> None:
    for index, step in enumerate(spec.steps):
        if step.name in _BUILTIN_STEPS:
            where = _where(("steps", index, "name"), source, positions)
            raise SpecError(f"{where}: steps[{index}].name '{step.name}' is the name of a built-in step",
                            hint=f"built-in steps are {', '.join(_BUILTIN_STEPS)}; choose another name")
