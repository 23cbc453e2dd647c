"""The loop a pre-warmed worker process runs: receive a task, call it, send the outcome."""

from __future__ import annotations

import importlib
import signal
import sys
import traceback
from typing import Any

from shipyard.errors import InternalError, ShipyardError


def resolve_callable(ref: str):
    module_name, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _portable_error(exc: BaseException) -> ShipyardError:
    if isinstance(exc, ShipyardError):
        return exc
    text = "".join(traceback.format_exception(exc))
    return InternalError(f"{type(exc).__name__}: {exc}\n{text}")


def _after_fork() -> None:
    store_db = sys.modules.get("shipyard.store.db")
    if store_db is not None and hasattr(store_db, "forget_engines_after_fork"):
        store_db.forget_engines_after_fork()


def worker_main(conn, preload: tuple[str, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _after_fork()
    for module in preload:
        try:
            importlib.import_module(module)
        except Exception:
            pass
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        task_id, ref, kwargs = message
        try:
            result: Any = resolve_callable(ref)(**kwargs)
            outcome = (task_id, "ok", result)
        except BaseException as exc:  # the runner decides what a failure means
            outcome = (task_id, "error", _portable_error(exc))
        try:
            conn.send(outcome)
        except Exception as exc:  # an unpicklable result
            conn.send((task_id, "error", InternalError(f"could not return the result of {ref}: {exc}")))
        sys.stdout.flush()
        sys.stderr.flush()

