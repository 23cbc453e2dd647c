"""Fitting XGBoost and LightGBM models with checkpoints, so that a preempted train step resumes.

Every ``every`` boosting rounds, and at least every ``interval_s`` seconds when given (the step's
``resources.checkpoint_interval``), the booster is saved as the step's checkpoint (see
``pipeline.checkpoint``); after SIGTERM it is saved at the end of the current round and the
step stops with :class:`~shipyard.errors.PreemptedError`. A run of the step that finds a
checkpoint continues from it (XGBoost's ``xgb_model``, LightGBM's ``init_model``) for the rounds
left. Without row or column subsampling the resumed model is the uninterrupted one, tree for tree:
the saved booster keeps its exact leaf values and the gradients of the next round depend only on
them. An XGBoost model is then the same bytes; a LightGBM model file also records the parameters
of the last leg of training (``num_iterations``: the rounds left), so its trees and predictions
are equal, not its bytes. With subsampling (``subsample``, ``colsample_*``, bagging) each library
reseeds its sampler when training continues, so the resumed model is another draw of the same
procedure: equivalent in its metrics, not equal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from shipyard.errors import PreemptedError
from shipyard.pipeline import checkpoint
from shipyard.pipeline.checkpoint import Checkpoints


def booster_library(estimator: Any) -> str | None:
    """``xgboost`` or ``lightgbm`` for a gradient-boosted estimator that can resume, else None."""
    module = type(estimator).__module__.partition(".")[0]
    if module == "xgboost" and not type(estimator).__name__.startswith("XGBRF"):
        return "xgboost"
    if module == "lightgbm" and hasattr(estimator, "n_estimators"):
        return "lightgbm"
    return None


def fit_with_checkpoints(estimator: Any, features: Any, target: Any, *, checkpoints: Checkpoints | None,
                         every: int, interval_s: float | None = None) -> dict[str, Any]:
    """Fit ``estimator``, resuming from and saving checkpoints when it is a booster; returns step details."""
    library = booster_library(estimator)
    if library is None or checkpoints is None:
        estimator.fit(features, target)
        return {}
    fit = _fit_xgboost if library == "xgboost" else _fit_lightgbm
    details = fit(estimator, features, target, checkpoints, _Every(rounds=every, seconds=interval_s))
    if interval_s is not None:
        details["checkpoint_interval_s"] = interval_s
    return details


@dataclass(frozen=True, kw_only=True)
class _Every:
    rounds: int
    seconds: float | None


def _fit_xgboost(estimator, features, target, checkpoints: Checkpoints, every: _Every) -> dict[str, Any]:
    import xgboost

    total = estimator.get_num_boosting_rounds()
    saved = checkpoints.load()
    done, booster = 0, None
    if saved is not None and 0 < (saved.progress or 0) < total:
        booster = xgboost.Booster()
        booster.load_model(bytearray(saved.state))
        done = booster.num_boosted_rounds()
    saver = _RoundSaver(checkpoints, every=every, total=total)

    class SaveRounds(xgboost.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log) -> bool:
            saver.after_round(model.num_boosted_rounds(), lambda: bytes(model.save_raw("ubj")))
            return False

    original = estimator.get_params(deep=False)
    estimator.set_params(n_estimators=total - done, callbacks=[*(original.get("callbacks") or ()), SaveRounds()])
    try:
        estimator.fit(features, target, xgb_model=booster)
    finally:
        estimator.set_params(n_estimators=original["n_estimators"], callbacks=original.get("callbacks"))
    return _details(estimator.get_booster().num_boosted_rounds(), done, every.rounds)


def _fit_lightgbm(estimator, features, target, checkpoints: Checkpoints, every: _Every) -> dict[str, Any]:
    import lightgbm

    total = int(estimator.get_params(deep=False)["n_estimators"])
    saved = checkpoints.load()
    done, booster = 0, None
    if saved is not None and 0 < (saved.progress or 0) < total:
        booster = lightgbm.Booster(model_str=saved.state.decode())
        done = booster.current_iteration()
    saver = _RoundSaver(checkpoints, every=every, total=total)

    def save_rounds(env) -> None:
        saver.after_round(env.iteration + 1, lambda: env.model.model_to_string().encode())

    estimator.n_estimators = total - done  # not set_params, which LightGBM also copies into its booster params
    try:
        estimator.fit(features, target, init_model=booster, callbacks=[save_rounds])
    finally:
        estimator.n_estimators = total
    return _details(estimator.booster_.current_iteration(), done, every.rounds)


class _RoundSaver:
    def __init__(self, checkpoints: Checkpoints, *, every: _Every, total: int):
        self.checkpoints, self.every, self.total = checkpoints, every, total
        self.last_saved = time.monotonic()

    def after_round(self, rounds: int, dump) -> None:
        """``rounds`` are done: save every ``every`` rounds or seconds, and stop after saving when told to."""
        if rounds >= self.total:  # the finished model is the step's output, not a checkpoint
            return
        stopping = checkpoint.preempted()
        overdue = self.every.seconds is not None and time.monotonic() - self.last_saved >= self.every.seconds
        if stopping or overdue or rounds % self.every.rounds == 0:
            self.checkpoints.save(dump(), progress=rounds)
            self.last_saved = time.monotonic()
        if stopping:
            raise PreemptedError(f"step '{self.checkpoints.step}' was told to stop (SIGTERM) after {rounds} of "
                                 f"{self.total} boosting rounds and saved its checkpoint",
                                 hint="the runner runs it again and it resumes from that round")


def _details(rounds: int, resumed_from: int, every: int) -> dict[str, Any]:
    details: dict[str, Any] = {"boosting_rounds": rounds, "checkpoint_every": every}
    if resumed_from:
        details["resumed_from_round"] = resumed_from
    return details
