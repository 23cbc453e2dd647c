"""Runs recorded the way the runner records them, for the cost tests: team, model and step resources in options."""

from shipyard.store import runs as store


def record_run(run_id, *, model, team=None, steps, resources=True, pipeline=None, created_at=None):
    """``steps``: name -> (cpu, memory bytes, gpus, seconds[, {kind, state, cache_hit, details}]).

    ``created_at`` (default now) places the run in the past."""
    options = {"no_cache": False, "from_step": None}
    if resources:
        options.update(team=team, model=model,
                       resources={name: {"cpu": cpu, "memory": memory, "gpu": gpu}
                                  for name, (cpu, memory, gpu, *_) in steps.items()})
    store.create_run(run_id=run_id, pipeline=pipeline or model, spec_path=None, spec_text="", spec_digest="f" * 64,
                     options=options)
    for position, (name, (_, _, _, seconds, *rest)) in enumerate(steps.items()):
        extra = rest[0] if rest else {}
        store.save_step(run_id, name, kind=extra.get("kind", "train"), position=position,
                        state=extra.get("state", "succeeded"), cache_hit=extra.get("cache_hit", False),
                        duration_s=seconds, details=extra.get("details"))
    if created_at is not None:
        from shipyard.store.db import session_scope
        from shipyard.store.models import PipelineRun

        with session_scope() as session:
            session.get(PipelineRun, run_id).created_at = created_at


def seed_three_teams():
    record_run("a1b2c3d4e5f6", model="churn", team="growth", steps={"train": (1.0, 0, 0, 3600.0)})
    record_run("b1b2c3d4e5f6", model="churn", team="growth", steps={"train": (3.0, 0, 0, 3600.0)})
    record_run("c1b2c3d4e5f6", model="fraud", team="risk", steps={"train": (1.0, 0, 1, 3600.0)})
    record_run("d1b2c3d4e5f6", model="orphan", steps={"train": (1.0, 0, 0, 36.0)})


def seed_two_weeks():
    """Four models of two teams over the last two weeks (prices: cpu 0.1, requests 0.5, GPU 3.0; see
    ``serve_two_weeks`` for the requests). Per model, previous week -> this week:
    churn 1.2 -> 0.4, upsell 0.2 -> 0, fraud 3.1 -> 1.55, aml 0 -> 2.1."""
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    this_week, last_week = now - timedelta(days=2), now - timedelta(days=10)
    record_run("c1", model="churn", team="growth", steps={"train": (2.0, 0, 0, 3600.0)}, created_at=last_week)
    record_run("c2", model="churn", team="growth", steps={"train": (4.0, 0, 0, 3600.0)}, created_at=this_week)
    record_run("u1", model="upsell", team="growth", steps={"train": (1.0, 0, 0, 7200.0)}, created_at=last_week)
    record_run("f1", model="fraud", team="risk", steps={"train": (1.0, 0, 1, 3600.0)}, created_at=last_week)
    record_run("f2", model="fraud", team="risk", steps={"train": (1.0, 0, 1, 1800.0)}, created_at=this_week)
    record_run("a1", model="aml", team="risk", steps={"train": (1.0, 0, 0, 3600.0)}, created_at=this_week)
    serve_two_weeks()


def serve_two_weeks():
    """2,000 churn requests ten days ago, 4,000 aml requests two days ago, in the prediction log."""
    import time

    import numpy as np

    from shipyard.config import load_settings
    from shipyard.serving.prediction_log import PredictionLogWriter, PredictionRecord

    writer = PredictionLogWriter(load_settings().prediction_log_root)
    writer.start()
    now = time.time()
    for model, count, age_days in (("churn", 2000, 10), ("aml", 4000, 2)):
        for i in range(count):
            writer.offer(PredictionRecord(request_id=f"{model}-{i}", timestamp=now - age_days * 86400 + i,
                                          model=model, version="1", arm="stable", protocol="mlflow", latency_ms=1.0,
                                          features={"x": [1.0]}, outputs={"predict": np.array([0])}))
    writer.close()
