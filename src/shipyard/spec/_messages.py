"""pydantic validation errors as one line per problem: file:line:col, key path, what is wrong, what is allowed."""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from shipyard.spec._yaml import KeyPath, Positions
from shipyard.spec.models import _FUNCTION_REF, _IDENTIFIER, PipelineSpec

MAX_PROBLEMS = 10

_PATTERN_HELP = {
    _IDENTIFIER: "must start with a letter and contain only letters, digits, '_' and '-'",
    _FUNCTION_REF: "must be a function reference written 'module:function', e.g. 'my_steps:profile'",
}

_EXPECTED = {
    "a valid dictionary or object to extract fields from": "a mapping of keys to values",
    "a valid dictionary": "a mapping of keys to values",
    "a valid list": "a list",
    "a valid string": "a string",
    "a valid integer": "an integer",
    "a valid number": "a number",
    "a valid boolean": "true or false",
}


def key_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


@dataclass(frozen=True)
class _Problem:
    position: tuple[int, int]
    path: KeyPath
    body: str
    got: str = ""
    alternative: bool = False
    missing: bool = False
    suggestion: str | None = None

    @property
    def text(self) -> str:
        return f"{key_path(self.path)}: {self.body}{self.got}"


def describe(error: ValidationError, *, source: str, positions: Positions) -> str:
    problems = _merge_alternatives([_problem(e, positions) for e in error.errors(include_url=False)])
    problems = _drop_missing_explained_by_typos(problems)
    problems.sort(key=lambda p: p.position)
    lines = [f"{source}:{p.position[0]}:{p.position[1]}: {p.text}" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"… and {len(problems) - MAX_PROBLEMS} more")
    if len(lines) == 1:
        return lines[0]
    return "\n".join([f"{len(problems)} problems in {source}:", *(f"  {line}" for line in lines)])


# ---------------------------------------------------------------- one error


def _problem(error: dict[str, Any], positions: Positions) -> _Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    walk = _walk(loc)
    path = walk.path

    if kind == "extra_forbidden":
        allowed = _fields(_walk(loc[:-1]).annotation)
        suggestion = _closest(path[-1], allowed)
        body = "unknown key" + (f"; did you mean '{suggestion}'?" if suggestion else "")
        body += f" (valid keys here: {', '.join(allowed)})" if allowed else ""
        return _Problem(positions.key(path), path, body, suggestion=suggestion)
    if kind == "pipeline_sections":
        path = (ctx["key"],)
        return _Problem(positions.key(path), path, ctx["message"])
    if kind == "missing":
        return _Problem(positions.key(path[:-1]), path, f"missing required key '{path[-1]}'", missing=True)
    if kind == "union_tag_invalid":
        field = _discriminator(ctx)
        path = path + (field,)
        return _Problem(positions.value(path), path,
                        _not_allowed(ctx.get("tag"), _tags(walk.annotation, field)))
    if kind == "union_tag_not_found":
        field = _discriminator(ctx)
        options = _tags(walk.annotation, field)
        return _Problem(positions.key(path), path + (field,),
                        f"missing required key '{field}' (allowed: {', '.join(options)})", missing=True)
    if kind == "literal_error":
        return _Problem(_where(path, positions), path,
                        _not_allowed(error.get("input"), _literal_options(walk.annotation)))
    where = positions.key(path) if walk.dict_key else _where(path, positions)
    return _Problem(where, path, _message(error), _got(error), alternative=walk.via_union)


def _not_allowed(given: Any, options: list[str]) -> str:
    suggestion = _closest(given, options)
    hint = f"; did you mean '{suggestion}'?" if suggestion else ""
    return f"{given!r} is not allowed{hint} (allowed: {', '.join(options)})"


def _where(path: KeyPath, positions: Positions) -> tuple[int, int]:
    return positions.value(path) if positions.is_scalar(path) else positions.key(path)


def _message(error: dict[str, Any]) -> str:
    message: str = error["msg"]
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if message.startswith("Value error, "):
        return message[len("Value error, "):]
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"needs at least {least} item{'s' if least != 1 else ''}, has {ctx.get('actual_length', 0)}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_HELP:
        return _PATTERN_HELP[ctx["pattern"]]
    if message.startswith("Input should be "):
        expected = message[len("Input should be "):]
        head = expected.partition(", ")[0]
        text = f"should be {_EXPECTED.get(expected, _EXPECTED.get(head, expected))}"
        given = error.get("input")
        if head == "a valid string" and given is not None and _is_scalar(given):
            text += "; put the value in quotes to keep it as text"
        return text
    return message[:1].lower() + message[1:]


def _got(error: dict[str, Any]) -> str:
    given = error.get("input")
    if not _is_scalar(given) or given is None:
        return ""
    if isinstance(given, str) and f"'{given}'" in error["msg"]:
        return ""
    return f" (got {given!r})"


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _closest(given: Any, options: list[str]) -> str | None:
    if given is None or not options:
        return None
    close = difflib.get_close_matches(str(given), options, n=1, cutoff=0.6)
    return close[0] if close else None


def _discriminator(ctx: dict[str, Any]) -> str:
    return str(ctx.get("discriminator", "type")).strip("'\"")


# ---------------------------------------------------------------- combining problems


def _merge_alternatives(problems: list[_Problem]) -> list[_Problem]:
    """A value that fits none of a union's members gives one line ("should be an integer or a list")."""
    merged: list[_Problem] = []
    for problem in problems:
        previous = merged[-1] if merged else None
        if (previous and problem.alternative and previous.alternative and previous.path == problem.path
                and previous.body.startswith("should be ") and problem.body.startswith("should be ")):
            first = previous.body.split("; ")[0]
            second = problem.body.split("; ")[0][len("should be "):]
            merged[-1] = replace(previous, body=f"{first} or {second}", got=previous.got or problem.got)
            continue
        merged.append(problem)
    return merged


def _drop_missing_explained_by_typos(problems: list[_Problem]) -> list[_Problem]:
    """An unknown 'estimater' and a missing 'estimator' are one mistake; the unknown-key line says so."""
    suggested = {p.path[:-1] + (p.suggestion,) for p in problems if p.suggestion}
    return [p for p in problems if not (p.missing and p.path in suggested)]


# ---------------------------------------------------------------- walking the models along an error location


@dataclass(frozen=True)
class _Walk:
    path: KeyPath
    annotation: Any
    via_union: bool
    dict_key: bool


def _walk(loc: tuple) -> _Walk:
    """The data path of a pydantic location (union member tags removed) and the type found at its end."""
    path: list[Any] = []
    current: Any = PipelineSpec
    via_union = dict_key = False
    for part in loc:
        if part == "[key]":
            dict_key = True
            continue
        current = _strip(current)
        if _is_union(current):
            tagged = _tagged_member(current, part)
            via_union = via_union or tagged is None
            current = tagged or _named_member(current, part)
            continue
        path.append(part)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part) if isinstance(part, str) else None
            current = field.annotation if field else None
        elif typing.get_origin(current) in (list, tuple, set, frozenset):
            current = (typing.get_args(current) or (None,))[0]
        elif typing.get_origin(current) is dict:
            current = (typing.get_args(current) or (None, None))[1]
        else:
            current = None
    return _Walk(tuple(path), _strip(current), via_union, dict_key)


def _strip(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif _is_union(annotation):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _tagged_member(union: Any, tag: Any) -> Any:
    """The member of a discriminated union whose discriminator (a one-value Literal field) is ``tag``."""
    for member in (_strip(m) for m in typing.get_args(union)):
        if isinstance(member, type) and issubclass(member, BaseModel) and any(
                _literal_options(f.annotation) == [str(tag)] for f in member.model_fields.values()):
            return member
    return None


def _named_member(union: Any, name: Any) -> Any:
    """The member of a plain union that pydantic labels ``name``: 'int', 'list[float]', a class name."""
    for member in (_strip(m) for m in typing.get_args(union)):
        if getattr(member, "__name__", None) == name or str(member) == name:
            return member
    return None


def _fields(annotation: Any) -> list[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _tags(union: Any, field: str) -> list[str]:
    tags: list[str] = []
    for member in typing.get_args(_strip(union)):
        member = _strip(member)
        if isinstance(member, type) and issubclass(member, BaseModel) and field in member.model_fields:
            tags += _literal_options(member.model_fields[field].annotation)
    return tags


def _literal_options(annotation: Any) -> list[str]:
    annotation = _strip(annotation)
    if typing.get_origin(annotation) is Literal:
        return [str(value) for value in typing.get_args(annotation)]
    return []
