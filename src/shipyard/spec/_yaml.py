"""YAML text to plain Python data, with the line and column of every key and value.

ruamel.yaml reads YAML 1.2, so ``on``, ``yes`` and ``no`` stay strings. Dates
and timestamps become ISO strings: the spec has no date-typed fields, and a
``cutoff: 2024-06-01`` is meant as text.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from shipyard.errors import SpecError

KeyPath = tuple[str | int, ...]
Position = tuple[int, int]

_STR_TAG = "tag:yaml.org,2002:str"
_UNSUPPORTED = {"CommentedSet": "set (!!set)", "bytes": "binary value (!!binary)"}


@dataclass(frozen=True)
class _Located:
    key: Position
    value: Position
    scalar: bool


class Positions:
    """1-based (line, column) of each key path in the document."""

    def __init__(self) -> None:
        self._at: dict[KeyPath, _Located] = {}

    def add(self, path: KeyPath, key: Position, value: Position, *, scalar: bool) -> None:
        self._at[path] = _Located(key, value, scalar)

    def key(self, path: KeyPath) -> Position:
        """Where the key (or list item) of ``path`` starts; the nearest enclosing one if it is absent."""
        return self._nearest(path).key

    def value(self, path: KeyPath) -> Position:
        return self._nearest(path).value

    def is_scalar(self, path: KeyPath) -> bool:
        return path in self._at and self._at[path].scalar

    def _nearest(self, path: KeyPath) -> _Located:
        while path not in self._at and path:
            path = path[:-1]
        return self._at.get(path, _Located((1, 1), (1, 1), False))


def read_yaml(text: str, source: str) -> tuple[Any, Positions]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        raise _malformed(exc, source) from None
    except YAMLError as exc:
        raise SpecError(f"{source}: malformed YAML: {exc}") from None
    positions = Positions()
    root = _position(getattr(document, "lc", None))
    positions.add((), root, root, scalar=False)
    return _Converter(source, positions).plain(document, ()), positions


def _position(lc: Any) -> Position:
    if lc is None or lc.line is None:
        return (1, 1)
    return (lc.line + 1, lc.col + 1)


def _malformed(exc: Any, source: str) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = str(exc.problem or exc.context or "").strip()
    duplicate = re.match(r'found duplicate key "(.*)" with value', problem, re.DOTALL)
    if duplicate:
        first = f" (the mapping starts at line {exc.context_mark.line + 1})" if exc.context_mark else ""
        return SpecError(f"{where}: duplicate key '{duplicate.group(1)}'{first}",
                         hint="each key may appear once per mapping; remove or merge the repeated one")
    if exc.context and exc.problem:
        context_mark = exc.context_mark
        elsewhere = context_mark and mark and context_mark.line != mark.line
        problem = f"{exc.context}" + (f" (line {context_mark.line + 1})" if elsewhere else "") + f", {problem}"
    hint = "indent with spaces; YAML does not allow tabs" if "'\\t'" in problem else \
        "check the indentation, colons, brackets and quotes around that position"
    return SpecError(f"{where}: malformed YAML: {problem}", hint=hint)


class _Converter:
    def __init__(self, source: str, positions: Positions) -> None:
        self.source = source
        self.positions = positions

    def plain(self, node: Any, path: KeyPath) -> Any:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        if isinstance(node, CommentedMap):
            self._refuse_tag(node, path)
            return self._mapping(node, path)
        if isinstance(node, CommentedSeq):
            self._refuse_tag(node, path)
            return self._sequence(node, path)
        return self._scalar(node, path)

    def _mapping(self, node: Any, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for raw_key in node:
            key = self._key(raw_key, path)
            child = path + (key,)
            value = node[raw_key]
            key_at, value_at = _entry_position(node, raw_key)
            self.positions.add(child, key_at, value_at, scalar=not isinstance(value, (dict, list)))
            out[key] = self.plain(value, child)
        return out

    def _sequence(self, node: Any, path: KeyPath) -> list[Any]:
        items = []
        for index, item in enumerate(node):
            child = path + (index,)
            at = _position_of_item(node, index)
            self.positions.add(child, at, at, scalar=not isinstance(item, (dict, list)))
            items.append(self.plain(item, child))
        return items

    def _key(self, key: Any, path: KeyPath) -> str:
        if isinstance(key, bool):
            return "true" if key else "false"
        if key is None:
            return "null"
        if isinstance(key, (str, int, float)):
            return str(key)
        raise self._error(path, "a key must be a plain string, not a list or mapping")

    def _scalar(self, node: Any, path: KeyPath) -> Any:
        from ruamel.yaml.comments import TaggedScalar

        if node is None or isinstance(node, bool):
            return node
        if isinstance(node, int):
            return bool(node) if type(node).__name__ == "ScalarBoolean" else int(node)
        if isinstance(node, float):
            return float(node)
        if isinstance(node, str):
            return str(node)
        if isinstance(node, (datetime.date, datetime.datetime)):
            return node.isoformat()
        if isinstance(node, TaggedScalar):
            if str(node.tag.value) in (_STR_TAG, "!!str"):
                return str(node.value)
            raise self._error(path, f"the YAML tag '{node.tag.value}' is not supported; remove it")
        kind = _UNSUPPORTED.get(type(node).__name__, type(node).__name__)
        raise self._error(path, f"a YAML {kind} is not supported here; use a string, number, boolean, list or mapping")

    def _refuse_tag(self, node: Any, path: KeyPath) -> None:
        tag = getattr(getattr(node, "tag", None), "value", None)
        if tag and str(tag).startswith("!") and not str(tag).startswith("!!"):
            raise self._error(path, f"the YAML tag '{tag}' is not supported; remove it")

    def _error(self, path: KeyPath, message: str) -> SpecError:
        from shipyard.spec._messages import key_path

        line, column = self.positions.value(path)
        return SpecError(f"{self.source}:{line}:{column}: {key_path(path)}: {message}")


def _entry_position(node: Any, key: Any) -> tuple[Position, Position]:
    """Key and value positions, following merge keys (``<<: *defaults``) to where they were written."""
    from ruamel.yaml.comments import merge_attrib

    if key in node.lc.data:
        key_line, key_col = node.lc.key(key)
        value_line, value_col = node.lc.value(key)
        return (key_line + 1, key_col + 1), (value_line + 1, value_col + 1)
    for merged in getattr(node, merge_attrib, None) or ():
        if key in merged:
            return _entry_position(merged, key)
    at = _position(node.lc)
    return at, at


def _position_of_item(node: Any, index: int) -> Position:
    if index in node.lc.data:
        line, col = node.lc.item(index)
        return (line + 1, col + 1)
    return _position(node.lc)
