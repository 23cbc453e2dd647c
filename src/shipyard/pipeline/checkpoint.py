"""Checkpoints: a long step saves its state as it goes, so that a preempted step resumes instead of restarting.

Inside a step (``from shipyard import checkpoint``)::

    state = checkpoint.load() or {"epoch": 0}
    for epoch in range(state["epoch"], epochs):
        ...
        checkpoint.save({"epoch": epoch + 1, ...})

A checkpoint lives in the artifact store under the run and the step, and belongs to the step's
cache key: a resumed run whose step or inputs changed starts that step afresh. It is removed once
the step succeeds. When the process running the step gets SIGTERM (spot capacity reclaimed, a
node drained, the runner stopped), :func:`preempted` turns true and the next :func:`save` raises
:class:`~shipyard.errors.PreemptedError` right after writing: the step stops with its work saved,
and the runner runs it again later (not counted as a failed attempt), resuming from there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import BackendError, PreemptedError, UsageError

_FORMAT_VERSION = 1
_stop_requested = False
_active: Checkpoints | None = None


@dataclass(frozen=True, kw_only=True)
class Saved:
    state: Any
    progress: int | None
    saved_at: float


@dataclass(kw_only=True)
class Checkpoints:
    """The checkpoint of one step of one run, in ``store``; ``fingerprint`` says which inputs it belongs to."""

    store: Any
    run_id: str
    step: str
    fingerprint: Callable[[], str] = field(default=lambda: "")
    extra_modules: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"checkpoints/{self.run_id}/{self.step}"

    def save(self, state: Any, *, progress: int | None = None) -> None:
        from shipyard.pipeline.serialization import encode

        try:
            payload, format, _ = encode(state, extra_modules=self.extra_modules)
        except Exception as exc:
            raise UsageError(f"step '{self.step}': the checkpoint state ({type(state).__name__}) cannot be stored: "
                             f"{exc}", headline="checkpoint cannot be stored",
                             hint="save a DataFrame, JSON-like data, bytes or a fitted scikit-learn object") from None
        header = {"version": _FORMAT_VERSION, "format": format, "fingerprint": self.fingerprint(),
                  "progress": progress, "saved_at": time.time(), "sha256": hashlib.sha256(payload).hexdigest()}
        self.store.put_keyed(self.key, json.dumps(header).encode() + b"\n" + payload)

    def load(self) -> Saved | None:
        """The last checkpoint of this step with these inputs, or None."""
        from shipyard.pipeline.serialization import decode

        blob = self.store.get_keyed(self.key)
        if blob is None:
            return None
        head, _, payload = blob.partition(b"\n")
        try:
            header = json.loads(head)
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("sha256") != hashlib.sha256(payload).hexdigest():
            raise BackendError(f"the checkpoint of step '{self.step}' in run {self.run_id} is damaged "
                               f"({self.store.keyed_path(self.key)})",
                               hint="delete that file to start the step from the beginning")
        if header.get("fingerprint") != self.fingerprint():
            return None
        return Saved(state=decode(payload, header["format"], extra_modules=self.extra_modules),
                     progress=header.get("progress"), saved_at=header["saved_at"])

    def clear(self) -> None:
        self.store.delete_keyed(self.key)


# ---------------------------------------------------------------- the running step's checkpoint


@contextlib.contextmanager
def activate(checkpoints: Checkpoints) -> Iterator[Checkpoints]:
    """Make ``checkpoints`` the one :func:`save` and :func:`load` use while a step runs in this process."""
    global _active
    previous, _active = _active, checkpoints
    try:
        yield checkpoints
    finally:
        _active = previous


def current() -> Checkpoints:
    if _active is None:
        raise UsageError("checkpoint.save and checkpoint.load work only inside a pipeline step",
                         headline="no step is running",
                         hint="call them from a function that a pipeline's steps: entry runs")
    return _active


def load() -> Any:
    """The state the running step last saved (in this run, with the same inputs), or None."""
    saved = current().load()
    return None if saved is None else saved.state


def save(state: Any, *, progress: int | None = None) -> None:
    """Save the running step's state; when the step was told to stop, raise PreemptedError after saving."""
    checkpoints = current()
    checkpoints.save(state, progress=progress)
    if _stop_requested:
        done = f" at {progress}" if progress is not None else ""
        raise PreemptedError(f"step '{checkpoints.step}' was told to stop (SIGTERM) and saved its checkpoint{done}",
                             hint="the runner runs it again and it resumes from that checkpoint")


def preempted() -> bool:
    """True once the process running the step got SIGTERM: save a checkpoint and stop soon."""
    return _stop_requested


# ---------------------------------------------------------------- the signal


def request_stop(signum: int | None = None, frame: Any = None) -> None:
    global _stop_requested
    _stop_requested = True


def reset() -> None:
    """A new step starts: no stop requested yet."""
    global _stop_requested
    _stop_requested = False


def stop_on_sigterm() -> None:
    """In a process that runs steps: SIGTERM asks the running step to checkpoint and stop, instead of killing it."""
    signal.signal(signal.SIGTERM, request_stop)
