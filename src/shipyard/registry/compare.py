"""Side-by-side comparison of two registered versions: state, metrics (overall and per slice), parameters,
data, inputs."""

from __future__ import annotations

from typing import Any

from shipyard.config import Settings, load_settings
from shipyard.spec.metrics import metric


def compare_versions(model: str, left: str | int, right: str | int, *,
                     settings: Settings | None = None) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    from shipyard.registry.gating import version_signature
    from shipyard.registry.lifecycle import get_state
    from shipyard.registry.versions import get_model_version

    settings = settings or load_settings()
    sides = {}
    for version in (str(left), str(right)):
        model_version = get_model_version(model, version, settings=settings)
        run = MlflowClient().get_run(model_version.run_id)
        sides[version] = {
            "state": get_state(model, version, settings=settings).state,
            "metrics": {k: v for k, v in run.data.metrics.items() if not k.startswith("slice.")},
            "slices": {k.removeprefix("slice."): v for k, v in run.data.metrics.items() if k.startswith("slice.")},
            "params": dict(run.data.params),
            "data": {k: v for k, v in model_version.tags.items() if k.startswith("shipyard.data.")},
            "inputs": version_signature(model, version, settings=settings) or {},
        }
    a, b = sides[str(left)], sides[str(right)]

    def paired(key: str) -> dict[str, list[Any]]:
        names = sorted(set(a[key]) | set(b[key]))
        return {n: [a[key].get(n), b[key].get(n)] for n in names}

    metrics = paired("metrics")
    return {
        "model": model, "versions": [str(left), str(right)],
        "state": [a["state"], b["state"]],
        "metrics": metrics,
        "directions": {name: known.direction for name in metrics if (known := metric(name))},
        "better": {name: better_side(name, *values, versions=(str(left), str(right)))
                   for name, values in metrics.items()},
        "slices": paired("slices"),
        "params": {k: v for k, v in paired("params").items() if v[0] != v[1]},
        "data": paired("data"),
        "inputs": {k: v for k, v in paired("inputs").items() if v[0] != v[1]},
    }


def better_side(name: str, left: float | None, right: float | None, *, versions: tuple[str, str]) -> str | None:
    """The version whose value of ``name`` is better by the metric's direction; None on a tie or when unknown."""
    known = metric(name)
    if known is None or left is None or right is None or left == right:
        return None
    left_wins = left > right if known.direction == "maximize" else left < right
    return versions[0] if left_wins else versions[1]
