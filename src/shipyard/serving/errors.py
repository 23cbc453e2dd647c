"""A request the gateway refuses: an HTTP status and field-level reasons."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RequestError(Exception):
    status: int
    message: str
    errors: list[dict[str, str]] = field(default_factory=list)

    def body(self) -> dict:
        payload: dict = {"error": self.message}
        if self.errors:
            payload["errors"] = self.errors
        return payload
