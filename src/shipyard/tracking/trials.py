"""Sweep trials as child runs of the pipeline's MLflow run, logged after the sweep."""

from __future__ import annotations

import time
from typing import Any

from shipyard.tracking.keys import metric_value, mlflow_key, param_value

_STATUS = {"complete": "FINISHED", "pruned": "FINISHED", "fail": "FAILED", "failed": "FAILED"}


def _step(key: Any) -> int | None:
    try:
        return int(key)
    except (TypeError, ValueError):
        return None


def log_trials(*, experiment_id: str, parent_run_id: str, pipeline_run_id: str, sweep: dict[str, Any]) -> list[str]:
    """One child run per trial: its params, the sweep metric, intermediate values as steps; the run ids."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    client = MlflowClient()
    metric = mlflow_key(sweep["metric"])
    intermediate_key = mlflow_key(sweep["metric"], "intermediate")
    run_ids = []
    for trial in sweep.get("trials", []):
        state = str(trial.get("state", "unknown"))
        run = client.create_run(experiment_id, run_name=f"trial-{trial['number']}", tags={
            MLFLOW_PARENT_RUN_ID: parent_run_id, "shipyard.pipeline_run_id": pipeline_run_id,
            "shipyard.trial_number": str(trial["number"]), "shipyard.trial_state": state})
        now = int(time.time() * 1000)
        params = {mlflow_key("model", name): param_value(value) for name, value in trial.get("params", {}).items()}
        metrics = []
        if (value := metric_value(trial.get("value"))) is not None:
            metrics.append(Metric(metric, value, now, 0))
        if (duration := metric_value(trial.get("duration_s"))) is not None:
            metrics.append(Metric("duration_s", duration, now, 0))
        for step, number in (trial.get("intermediate") or {}).items():
            if _step(step) is not None and (number := metric_value(number)) is not None:
                metrics.append(Metric(intermediate_key, number, now, _step(step)))
        client.log_batch(run.info.run_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()])
        client.set_terminated(run.info.run_id, status=_STATUS.get(state, "KILLED"))
        run_ids.append(run.info.run_id)
    return run_ids
