"""Pages, sorting and the query parameters every list takes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from shipyard.errors import UsageError

T = TypeVar("T")
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="How many items match in all.")
    offset: int
    limit: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last page.")


@dataclass(frozen=True)
class Window:
    offset: int
    limit: int

    def page(self, items: Sequence[Any], total: int) -> dict[str, Any]:
        following = self.offset + len(items)
        return {"items": list(items), "total": total, "offset": self.offset, "limit": self.limit,
                "next_offset": following if following < total else None}

    def slice(self, items: Sequence[Any]) -> dict[str, Any]:
        return self.page(items[self.offset:self.offset + self.limit], len(items))


def window(offset: int = Query(0, ge=0, le=1_000_000, description="Items to skip."),
           limit: int = Query(50, ge=1, le=MAX_LIMIT, description="Items per page.")) -> Window:
    return Window(offset=offset, limit=limit)


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool


def sort_query(default: str, keys: Sequence[str]) -> Any:
    """The ``sort`` query parameter: one of ``keys``, prefixed with ``-`` for descending (documented as an enum)."""
    return Query(default, description=f"{', '.join(keys)}; prefix - for descending.",
                 json_schema_extra={"enum": [v for k in keys for v in (k, f"-{k}")]})  # checked by parse_sort: 400


def parse_sort(text: str, allowed: Sequence[str]) -> Sort:
    """``KEY`` (ascending) or ``-KEY`` (descending); a key not in ``allowed`` is a usage error naming them."""
    allowed = tuple(allowed)
    key = text.removeprefix("-")
    if key not in allowed:
        raise UsageError(f"cannot sort by '{key}'; allowed sort keys: {', '.join(allowed)}",
                         headline="invalid sort key", hint="prefix a key with - to sort descending, e.g. -" +
                                                           allowed[0])
    return Sort(key=key, descending=text.startswith("-"))


def sort_in_memory(items: list[T], sort: Sort, keys: dict[str, Callable[[T], Any]]) -> list[T]:
    return sorted(items, key=keys[sort.key], reverse=sort.descending)
