"""Runs recorded the way the runner records them, for the cost tests: team, model and step resources in options."""

from shipyard.store import runs as store


def record_run(run_id, *, model, team=None, steps, resources=True, pipeline=None):
    """``steps``: name -> (cpu, memory bytes, gpus, seconds[, {kind, state, cache_hit, details}])."""
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


def seed_three_teams():
    record_run("a1b2c3d4e5f6", model="churn", team="growth", steps={"train": (1.0, 0, 0, 3600.0)})
    record_run("b1b2c3d4e5f6", model="churn", team="growth", steps={"train": (3.0, 0, 0, 3600.0)})
    record_run("c1b2c3d4e5f6", model="fraud", team="risk", steps={"train": (1.0, 0, 1, 3600.0)})
    record_run("d1b2c3d4e5f6", model="orphan", steps={"train": (1.0, 0, 0, 36.0)})
