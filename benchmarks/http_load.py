"""Servers started as a user starts them, and wrk driving them on loopback: what the HTTP benchmarks share."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode} before {url} answered: "
                               + " / ".join(log.read_text().strip().splitlines()[-5:]))
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@dataclass(frozen=True)
class Start:
    """How to start one server, and the URL that answers 200 once it is ready."""

    command: list[str]
    ready: str
    log: Path
    env: dict[str, str]
    cwd: Path | None = None


@contextmanager
def servers(*starts: Start) -> Iterator[None]:
    """The servers started at once, each ready before the block runs; all stopped after it."""
    with ExitStack() as running:
        processes = [running.enter_context(_process(start)) for start in starts]
        for start, process in zip(starts, processes):
            wait_ready(start.ready, process, start.log)
        yield


def server(command: list[str], ready: str, log: Path, env: dict[str, str], cwd: Path | None = None):
    return servers(Start(command, ready, log, env, cwd))


@contextmanager
def _process(start: Start) -> Iterator[subprocess.Popen]:
    with start.log.open("w") as output:
        proc = subprocess.Popen(start.command, env=start.env, cwd=start.cwd, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wrk(url: str, script: Path, connections: int, duration: int, timeout: int | None = None) -> dict[str, float]:
    """req/s, p50 and p99 (ms; NaN when no request completed), answers other than 2xx/3xx, and requests
    that timed out or failed on the socket.

    A request slower than ``timeout`` seconds (wrk's default: 2) is counted as timed out, not in the latencies.
    """
    out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{duration}s",
                          *(["--timeout", f"{timeout}s"] if timeout else []), "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    timed_out = int(failed.group(4)) if failed else 0  # wrk counts a late answer as a request, without its latency
    completed = max(0, int(re.search(r"(\d+) requests in", out).group(1)) - timed_out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "requests": completed,
            "p50": millis("50%") if completed else float("nan"), "p99": millis("99%") if completed else float("nan"),
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sum(int(n) for n in failed.groups()) if failed else 0}
