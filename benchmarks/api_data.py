"""The registry the API benchmark searches: N models × M versions, held the same by shipyard and MLflow.

Written through the calls a pipeline's register step makes, with MLflow's client on MLflow's
PostgreSQL store (the one `mlflow server` serves) and shipyard's registry functions on the
metadata store:

- per model, one MLflow run that logs a real fitted model (a two-feature scikit-learn
  LogisticRegression, ``mlflow.sklearn.log_model``), and the registered model created with
  its team and registry tags (``team``, ``tier``, ``domain``) as MLflow tags;
- per version, ``MlflowClient.create_model_version`` from that logged model, tagged with the
  registry tags and the producing run, then ``shipyard.registry.lifecycle.register_candidate``
  (the metadata store's row, the model's owner, the audit event, and the ``shipyard.state``
  tag mirrored back to MLflow, so both sides hold the same tags);
- per model, one succeeded pipeline run in the metadata store (``create_run`` and
  ``update_run``) whose spec declares the team, description, input columns, target and
  registry tags — the facts the catalog reads.

The model files are not copied per version: every version of a model points at its model's
one logged model, as versions re-registered from the same run do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

TEAMS = ("growth", "fraud", "search", "ads", "risk")


@dataclass(frozen=True)
class ModelFacts:
    """What one benchmark model is, on both sides."""

    index: int

    @property
    def name(self) -> str:
        return f"m{self.index}"

    @property
    def team(self) -> str:
        return TEAMS[self.index % len(TEAMS)]

    @property
    def tags(self) -> dict[str, str]:
        return {"tier": str(self.index % 2 + 1), "domain": self.team}

    @property
    def columns(self) -> tuple[str, str]:
        return ("amount", f"col_{self.index % 10}")

    @property
    def target(self) -> str:
        return f"label_{self.index % 3}"

    def spec(self) -> str:
        columns = ", ".join(self.columns)
        tags = ", ".join(f"{k}: '{v}'" for k, v in self.tags.items())
        return (f"name: {self.name}\nteam: {self.team}\ndescription: Model number {self.index} of {self.team}.\n"
                f"data:\n  source: {{type: csv, path: data.csv}}\n  target: {self.target}\n"
                f"features:\n  - columns: [{columns}]\n    transforms: [{{kind: scale}}]\n"
                f"model: {{flavor: sklearn, estimator: LogisticRegression}}\n"
                f"registry:\n  tags: {{{tags}}}\n")


def tiny_model():
    """A real fitted model, as small as one can be."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    return LogisticRegression().fit(x, np.array([0, 1, 1, 0]))


def populate(models: int, versions: int, settings, *, workers: int = 4, progress=print) -> None:
    """Register ``models`` × ``versions`` in MLflow (``settings.mlflow_tracking_uri``) and shipyard's store.

    ``workers`` threads take a model each: MLflow's side (its run, logged model, registered model and
    versions), then shipyard's side, version by version, as a register step does after MLflow created
    the version.
    """
    import os
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    from mlflow.tracking import MlflowClient

    from shipyard.store.runs import create_run, update_run
    from shipyard.tracking.setup import configure_mlflow

    configure_mlflow(settings)
    client = MlflowClient()
    experiment = client.create_experiment("api-benchmark", artifact_location=settings.mlflow_artifact_root.as_uri())
    fitted = tiny_model()
    started = time.perf_counter()
    done = []
    lock = threading.Lock()

    def register(facts: ModelFacts) -> None:
        mlflow_run_id, created = _in_mlflow(facts, versions, client, experiment, fitted)
        for version in created:
            _register_candidate(facts, version, settings)
        spec = facts.spec()
        run_id = f"bench{facts.index:027d}"
        create_run(run_id=run_id, pipeline=facts.name, spec_path=None, spec_text=spec,
                   spec_digest=hashlib.sha256(spec.encode()).hexdigest(), options={}, settings=settings)
        update_run(run_id, status="succeeded", mlflow_run_id=mlflow_run_id, model_name=facts.name,
                   model_version=str(versions), settings=settings)
        with lock:
            done.append(facts.name)
            if len(done) % 10 == 0 or len(done) == models:
                progress(f"  registered {len(done)}/{models} models × {versions} versions "
                         f"({time.perf_counter() - started:.0f} s)", flush=True)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(register, [ModelFacts(index) for index in range(models)]))


def _in_mlflow(facts: ModelFacts, versions: int, client, experiment: str, fitted) -> tuple[str, list[str]]:
    """The model's run with its logged model, its registered model and ``versions`` versions: (run id, versions)."""
    import mlflow

    from shipyard.registry.trust import trusted_types_for
    from shipyard.tracking.backend import quiet_mlflow
    from shipyard.tracking.environment import requirements_for

    with quiet_mlflow(), mlflow.start_run(experiment_id=experiment, run_name=facts.name) as run:
        logged = mlflow.sklearn.log_model(fitted, name="model", serialization_format="skops",
                                          skops_trusted_types=trusted_types_for(fitted),
                                          pip_requirements=requirements_for("sklearn"))
    client.create_registered_model(facts.name, tags={"team": facts.team, **facts.tags},
                                   description=f"Model number {facts.index} of {facts.team}.")
    created = [client.create_model_version(
        facts.name, source=logged.model_uri, run_id=run.info.run_id, model_id=logged.model_id,
        tags={**facts.tags, "shipyard.pipeline_run_id": run.info.run_id}, await_creation_for=0).version
        for _ in range(versions)]
    return run.info.run_id, created


def _register_candidate(facts: ModelFacts, version: str, settings, attempts: int = 50) -> None:
    """``register_candidate``, tried again when another thread's registration took the audit log's next number.

    Registration appends its audit event in the version's own transaction, chained onto the newest event;
    two at once collide on the sequence number and one rolls back whole, so trying again is safe.
    """
    from sqlalchemy.exc import IntegrityError

    from shipyard.registry.lifecycle import register_candidate

    for attempt in range(attempts):
        try:
            register_candidate(facts.name, version, actor="api-benchmark", team=facts.team, settings=settings)
            return
        except IntegrityError:
            if attempt + 1 == attempts:
                raise
