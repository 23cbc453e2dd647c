"""Reading a request body under a size limit, counted while it streams in."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from shipyard.serving.errors import RequestError


def _too_large(size: str, limit: int) -> RequestError:
    return RequestError(413, f"the body is over the gateway's limit of {limit} bytes",
                        [{"field": "(body)", "message": f"{size} bytes"}],
                        hint="split the rows over several requests")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or a 413 as soon as it passes ``limit`` bytes (declared or chunked), nothing buffered past it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(declared, limit)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(f"more than {limit}", limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise RequestError(400, "the client went away before sending the whole body",
                           [{"field": "(body)", "message": f"{size} bytes arrived, then the connection closed"}]
                           ) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
