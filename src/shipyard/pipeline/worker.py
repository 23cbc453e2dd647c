"""The loop a pre-warmed worker process runs: receive a task, call it, send the outcome."""

from __future__ import annotations

import importlib
import os
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
    _limit_inherited_openmp()


def _limit_inherited_openmp() -> None:
    """A parent that already ran LightGBM or XGBoost (a pipeline run in-process by a long-lived caller) may hold
    an OpenMP thread pool, on which a forked child deadlocks at its first parallel region: such a child runs
    OpenMP code on one thread. A worker of ``shipyard run`` imports those libraries itself and keeps every core."""
    if "lightgbm" in sys.modules or "xgboost" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="openmp")


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, runner_ends: tuple = ()) -> None:
    """Make this worker end when the runner that forked it ends, however it ends.

    On Linux the kernel sends SIGKILL when the parent dies (even by SIGKILL). Everywhere, the
    runner's ends of the worker pipes inherited through fork are closed, so the only holder of
    the other end of this worker's pipe is the runner and its death reads as end of file.
    """
    for conn in runner_ends:
        conn.close()
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def worker_main(conn, preload: tuple[str, ...], *, parent_pid: int | None = None, runner_ends: tuple = ()) -> None:
    from shipyard.pipeline import checkpoint

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    checkpoint.stop_on_sigterm()
    if parent_pid is not None:
        die_with_parent(parent_pid, runner_ends)
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
        checkpoint.reset()
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

