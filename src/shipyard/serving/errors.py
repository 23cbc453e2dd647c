"""A request the gateway refuses: an HTTP status, field-level reasons and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RequestError(Exception):
    status: int
    message: str
    errors: list[dict[str, str]] = field(default_factory=list)
    hint: str | None = None

    def body(self) -> dict:
        payload: dict = {"error": self.message}
        if self.errors:
            payload["errors"] = self.errors
        if self.hint:
            payload["hint"] = self.hint
        return payload
