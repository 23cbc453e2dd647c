"""One step's work, wherever it runs: cache check, inputs by digest, execute, outputs, record.

The local runner's workers and ``shipyard step run`` (and so the Airflow and Kubernetes
executors, which call it) go through these functions, so that a step gives the same
cache key, the same cache entry and the same step record whichever way it ran.
"""

from __future__ import annotations

from typing import Any

from shipyard.config import Settings
from shipyard.errors import DataError, ShipyardError, SpecError
from shipyard.governance.identity import Identity
from shipyard.pipeline import step_logs
from shipyard.pipeline.cache import cache_key
from shipyard.pipeline.dag import StepNode
from shipyard.pipeline.state import StepState
from shipyard.store import runs as store

NOT_RETRIED = (SpecError, DataError)
"""Errors another attempt cannot fix: the spec or the data has to change first."""
MAX_BACKOFF_S = 30.0


def cached_entry(key: str, *, artifacts, settings: Settings | None = None,
                 connection=None) -> store.CacheRecord | None:
    """The cache entry for ``key`` when every output it names is still in the artifact store."""
    entry = store.cache_get(key, settings=settings, connection=connection)
    if entry is None or not all(artifacts.exists(ref["digest"]) for ref in entry.outputs.values()):
        return None
    return entry


def perform_step(*, node: StepNode, input_refs: dict[str, dict[str, str]], run_id: str, settings: Settings,
                 base_dir: str, extra_modules: tuple[str, ...], identity: Identity | None = None) -> dict[str, Any]:
    """Run the step (in a worker, its output and any traceback kept in its log) and store and record its outputs.

    The caller looked the step up in the cache first (:func:`cached_entry`) and caches the result with
    :func:`remember`. Returns ``{"cache_key", "outputs": {name: {"digest", "format"}}, "details", "cacheable"}``.
    """
    from shipyard.pipeline.task import execute_step

    key = cache_key(node, input_refs)
    with step_logs.captured(run_id, node.name, settings):
        result = execute_step(node=node, input_refs=input_refs, run_id=run_id, settings=settings,
                              base_dir=base_dir, extra_modules=extra_modules, identity=identity)
    outputs = {}
    for output, stored in result["outputs"].items():
        store.record_artifact(stored["digest"], stored["format"], stored["size_bytes"], stored["meta"],
                              settings=settings)
        outputs[output] = {"digest": stored["digest"], "format": stored["format"]}
    return {"cache_key": key, "outputs": outputs, "details": result["details"] or {},
            "cacheable": node.cacheable and result["cacheable"]}


def remember(value: dict[str, Any], *, node: StepNode, run_id: str, settings: Settings | None = None) -> None:
    """Cache a step's outputs once the driver has taken its outcome (so a twin step dispatched meanwhile still
    runs, as under every executor)."""
    if value["cacheable"]:
        store.cache_put(value["cache_key"], step_kind=node.kind, outputs=value["outputs"], run_id=run_id,
                        details=value["details"], settings=settings)


def retry_delay(error: BaseException | None, *, attempts: int, retries: int, backoff_s: float) -> float | None:
    """Seconds to wait before the next attempt, or None when the step has failed for good."""
    if isinstance(error, NOT_RETRIED) or attempts > retries:
        return None
    return min(backoff_s * 2 ** (attempts - 1), MAX_BACKOFF_S)


def save_state(run_id: str, state: StepState, *, settings: Settings | None = None, connection=None) -> None:
    """The step's record in the metadata store, as every executor writes it."""
    store.save_step(run_id, state.name, settings=settings, connection=connection, **state_fields(state))


def state_fields(state: StepState) -> dict[str, Any]:
    """What the step's record holds of its state."""
    return dict(kind=state.kind, position=state.position, cache_key=state.cache_key, state=state.state,
                cache_hit=state.cache_hit, attempts=state.attempts, duration_s=state.duration_s,
                error=state.error, outputs=state.outputs, details=state.details)


def one_line(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    text = error.message if isinstance(error, ShipyardError) else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
