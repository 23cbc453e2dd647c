"""The body size limit holds while a chunked upload streams in: refused early, never buffered whole."""

import select
import socket
import tracemalloc
from urllib.parse import urlsplit

CHUNK = b"x" * 16384
TOTAL = 64 * 1024 * 1024  # 1,000 times the test gateway's 64 KiB limit


def _chunked_upload(url: str, path: str) -> tuple[bytes, int]:
    """Stream a chunked POST until the gateway answers (or the whole upload is sent): its answer, bytes sent."""
    parts = urlsplit(url)
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
        try:
            while sent < TOTAL and not select.select([sock], [], [], 0)[0]:
                sock.sendall(frame)
                sent += len(CHUNK)
            else:
                if sent >= TOTAL:
                    sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass
    return answer, sent


def test_a_chunked_upload_past_the_limit_is_refused_while_it_streams(live_gateway):
    tracemalloc.start()
    try:
        for path in ("/models/synth/invocations", "/v2/models/synth/infer"):
            answer, sent = _chunked_upload(live_gateway.url, path)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            assert sent < 8 * 1024 * 1024, f"the gateway answered only after {sent} bytes"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"{peak / 2**20:.0f} MiB allocated while refusing"
