"""Counting every answer of the inference endpoints, whatever produced it.

A pure ASGI middleware (no per-request task or body copy): it sees the status of each
answer as it is sent, and the route fills in the model, version and arm it picked. An
exception nothing handled becomes a JSON 500 here, counted like any other answer.
"""

from __future__ import annotations

import json
import logging

from shipyard.serving.metrics import GatewayMetrics

log = logging.getLogger(__name__)
SCOPE_KEY = "shipyard.answer"
_INTERNAL = json.dumps({"error": "internal error in the gateway; the request was not served",
                        "hint": "the gateway's log has the traceback"}).encode()


class Answer:
    """The labels of one answer; a route sets those it learns (unknown models stay ``unknown``)."""

    __slots__ = ("model", "version", "arm", "protocol")

    def __init__(self, protocol: str):
        self.model, self.version, self.arm, self.protocol = "unknown", "", "", protocol


def _protocol(scope) -> str | None:
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path = scope["path"]
    return "v2" if path.startswith("/v2/") else "mlflow" if path.startswith("/models/") else None


class AnswerCounter:
    def __init__(self, app, metrics: GatewayMetrics):
        self.app, self.metrics = app, metrics
        self._counters: dict[tuple[str, str, str, str, int], tuple] = {}

    def _count(self, answer: Answer, status: int) -> None:
        key = (answer.model, answer.version, answer.arm, answer.protocol, status)
        counters = self._counters.get(key)
        if counters is None:
            labels = (*key[:4], str(status))
            counters = self._counters[key] = (self.metrics.requests.labels(*labels),
                                              self.metrics.errors.labels(*labels) if status >= 400 else None)
        counters[0].inc()
        if counters[1] is not None:
            counters[1].inc()

    async def __call__(self, scope, receive, send):
        protocol = _protocol(scope)
        if protocol is None:
            return await self.app(scope, receive, send)
        answer = scope[SCOPE_KEY] = Answer(protocol)
        status = None

        async def answering(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, answering)
        except Exception:
            if status is not None:  # the answer had begun: it is counted below, the connection drops
                raise
            log.exception("unhandled error answering %s %s", scope["method"], scope["path"])
            status = 500
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(_INTERNAL)).encode()), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": _INTERNAL})
        finally:
            if status is not None:
                self._count(answer, status)
