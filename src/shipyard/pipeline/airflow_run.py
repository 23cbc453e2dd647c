"""The shipyard run behind an Airflow DAG run, opened by the DAG's first task.

Its id is derived from the DAG run, so a retried first task finds the run it opened,
and the run keeps the DAG run it stands for in its options (``runs show`` prints it).
The step tasks run ``shipyard step run``, the last task ``shipyard runs finish``
(see :mod:`shipyard.pipeline.steprun`).
"""

from __future__ import annotations

from pathlib import Path

from shipyard.config import Settings, load_settings
from shipyard.errors import NotFoundError, RefusedError
from shipyard.pipeline.airflow_dag import shipyard_run_id
from shipyard.pipeline.steprun import create_run
from shipyard.store import runs as store


def begin(spec_path: str | Path, *, dag_id: str, dag_run_id: str, settings: Settings | None = None) -> str:
    """Open (or find, on a retry) the run for this DAG run, with every step pending; its id."""
    settings = settings or load_settings()
    run_id = shipyard_run_id(dag_id, dag_run_id)
    link = {"dag_id": dag_id, "dag_run_id": dag_run_id}
    try:
        existing = store.get_run(run_id, settings=settings)
    except NotFoundError:
        return create_run(spec_path, settings=settings, run_id=run_id, links={"airflow": link})
    if (existing.options or {}).get("airflow") != link:
        raise RefusedError(f"run {run_id} exists but does not stand for Airflow DAG run {dag_id}/{dag_run_id}",
                           hint=f"`shipyard runs show {run_id}` shows which run it is")
    return run_id
