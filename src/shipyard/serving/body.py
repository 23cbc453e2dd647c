"""Reading a request body under a size limit, counted while it streams in."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from shipyard.serving.errors import RequestError

_HINT = "send fewer rows per request, or start the gateway with a larger body limit"


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or a 413 as soon as it passes ``limit`` bytes (declared or chunked), nothing buffered past it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the body is {declared} bytes; the limit is {limit}", hint=_HINT)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError(413, f"the body passed the limit of {limit} bytes", hint=_HINT)
            chunks.append(chunk)
    except ClientDisconnect:
        raise RequestError(400, f"the client went away after sending {size} bytes of the body") from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
