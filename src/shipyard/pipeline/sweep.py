"""The sweep controller: asks Optuna for trials, fans them out to workers, tells results.

Trials live in the metadata database, so an interrupted sweep resumes where it
stopped: finished trials count, and each trial the interruption cut short is
marked interrupted and its parameters are run once more, so that the sweep ends
with exactly ``n_trials`` finished trials and no parameters drawn twice.

An orchestrator that runs each trial as its own task (Airflow's mapped tasks) plans
the trials first (:meth:`SweepController.plan_trials`: the parameters drawn in the
order a local sweep draws them, each trial tagged with its index), runs each planned
trial anywhere (:meth:`SweepController.planned_task`), and gathers them with an
ordinary run of the sweep step, which finds them finished.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import StepFailedError
from shipyard.pipeline.dag import StepNode
from shipyard.spec.models import SweepSpec

INTERRUPTED = "shipyard_interrupted"
RETRY_OF = "shipyard_retry_of"
PLANNED = "shipyard_planned_index"
"""The index of a trial planned for a task of its own (``shipyard step run RUN SWEEP --trial N``)."""
FAILED_WITH = "shipyard_error"


def open_storage(url: str):
    import optuna

    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


def pruner():
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)


def _distribution(spec: dict[str, Any]):
    import optuna.distributions as d

    if spec["type"] == "float":
        return d.FloatDistribution(spec["low"], spec["high"], log=spec["log"], step=spec.get("step"))
    if spec["type"] == "int":
        return d.IntDistribution(spec["low"], spec["high"], log=spec["log"], step=spec.get("step") or 1)
    return d.CategoricalDistribution(spec["choices"])


@dataclass
class SweepController:
    node: StepNode
    train_ref: dict[str, str]
    study_name: str
    storage_url: str
    settings: Any
    max_parallel: int | None = None
    """At most this many trials at once (the team's ``sweep_trials`` quota); all of them still run."""
    errors: list[str] = field(default_factory=list)
    requeue: bool = True
    """Fail and queue again the trials left running; False where other processes run planned trials now."""

    def __post_init__(self) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.sweep = SweepSpec.model_validate(self.node.params["sweep"])
        self.distributions = {name: _distribution(p) for name, p in self.node.params["sweep"]["space"].items()}
        storage = open_storage(self.storage_url)
        self.study = optuna.create_study(study_name=self.study_name, storage=storage, load_if_exists=True,
                                         direction=self.sweep.direction, pruner=pruner())
        self.study.sampler = optuna.samplers.TPESampler(seed=self._seed())
        if self.requeue:
            self._requeue_interrupted()
        self.errors.extend(f"trial {t.number}: {t.user_attrs[FAILED_WITH]}"
                           for t in self.study.get_trials(deepcopy=False) if FAILED_WITH in t.user_attrs)
        self.started = time.monotonic()
        self.running: dict[str, Any] = {}
        self.resumed = self.finished_count()

    def _seed(self) -> int | None:
        """The seed, moved on by the trials already in the study: a resumed sweep continues the random
        stream instead of drawing the first trials' parameters again."""
        seed = self.sweep.sampler_seed
        return None if seed is None else seed + len(self.study.get_trials(deepcopy=False))

    def _requeue_interrupted(self) -> None:
        """Trials left running by a process that died: mark them, and queue their parameters once more."""
        from optuna.trial import TrialState

        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            self.study._storage.set_trial_user_attr(trial._trial_id, INTERRUPTED, True)
            self.study.tell(trial.number, state=TrialState.FAIL)
            if trial.params and RETRY_OF not in trial.user_attrs:
                self.study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})

    def finished_count(self) -> int:
        from optuna.trial import TrialState

        return len(self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))

    def timed_out(self) -> bool:
        return self.sweep.timeout is not None and time.monotonic() - self.started >= self.sweep.timeout

    def wants_more(self) -> bool:
        if self.timed_out() or len(self.errors) >= max(3, self.sweep.n_trials):
            return False
        return self.finished_count() + len(self.running) < self.sweep.n_trials

    def has_room(self) -> bool:
        return self.max_parallel is None or len(self.running) < self.max_parallel

    def done(self) -> bool:
        return not self.running and not self.wants_more()

    def next_task(self) -> tuple[str, dict[str, Any]]:
        trial = self.study.ask(self.distributions)
        return self._task_of(trial)

    def plan_trials(self) -> list[int]:
        """Draw the parameters of the trials still wanted, in the order a local sweep draws them, each trial
        tagged with its index; the indices planned (again, on a retry), in order."""
        planned = self._planned()
        finished_elsewhere = self.finished_count() - sum(
            1 for t in planned.values() if t.state.name in ("COMPLETE", "PRUNED"))
        for index in range(max(0, self.sweep.n_trials - finished_elsewhere)):
            if index not in planned:
                trial = self.study.ask(self.distributions)
                self.study._storage.set_trial_user_attr(trial._trial_id, PLANNED, index)
                planned[index] = trial
        return sorted(planned)

    def planned_task(self, index: int) -> tuple[str, dict[str, Any]] | None:
        """The task of planned trial ``index`` while it has not ended (a retried task runs it again); None
        when it ended or was never planned."""
        trial = self._planned().get(index)
        if trial is None or trial.state.name != "RUNNING":
            return None
        return self._task_of(trial)

    def _task_of(self, trial) -> tuple[str, dict[str, Any]]:
        task_id = f"{self.node.name}#{trial.number}"
        self.running[task_id] = trial
        kwargs = {"params": self.node.params, "train_ref": self.train_ref, "trial_params": trial.params,
                  "settings": self.settings, "study_name": self.study_name, "storage_url": self.storage_url,
                  "trial_id": trial._trial_id, "n_jobs": max(1, int(self.node.resources.cpu))}
        return task_id, kwargs

    def _planned(self) -> dict[int, Any]:
        return {t.user_attrs[PLANNED]: t for t in self.study.get_trials(deepcopy=False) if PLANNED in t.user_attrs}

    def on_outcome(self, task_id: str, ok: bool, value: Any, error: str | None, *, keep_error: bool = False) -> None:
        """Tell the study how a trial ended; ``keep_error`` records a failure's reason with the trial, for the
        process that gathers the trials."""
        from optuna.trial import TrialState

        trial = self.running.pop(task_id)
        if not ok:
            self.errors.append(f"trial {trial.number}: {error}")
            if keep_error:
                self.study._storage.set_trial_user_attr(trial._trial_id, FAILED_WITH, error)
            self.study.tell(trial.number, state=TrialState.FAIL)
        elif value["state"] == "pruned":
            self.study.tell(trial.number, state=TrialState.PRUNED)
        else:
            self.study.tell(trial.number, value["value"])

    def best(self) -> dict[str, Any] | None:
        try:
            best = self.study.best_trial
        except ValueError:
            return None
        return {"number": best.number, "value": best.value, "params": best.params}

    def result(self) -> dict[str, Any]:
        best = self.best()
        if best is None:
            reasons = "; ".join(self.errors[:3]) or "no trial completed before the timeout"
            raise StepFailedError(f"the sweep produced no successful trial: {reasons}")
        trials = []
        for t in self.study.get_trials(deepcopy=False):
            if t.user_attrs.get(INTERRUPTED) or t.state.name == "WAITING":
                continue
            duration = (t.datetime_complete - t.datetime_start).total_seconds() \
                if t.datetime_complete and t.datetime_start else None
            trials.append({"number": t.number, "params": t.params, "value": t.value, "state": t.state.name.lower(),
                           "duration_s": duration,
                           "intermediate": {str(k): v for k, v in t.intermediate_values.items()}})
        return {"metric": self.sweep.metric, "direction": self.sweep.direction, "best_params": best["params"],
                "best_value": best["value"], "best_trial": best["number"],
                "n_trials": sum(1 for t in trials if t["state"] in ("complete", "pruned")),
                "study": self.study_name, "trials": trials}
