"""One-row predictions on the scikit-learn path (versions that do not convert to ONNX), in the gateway's process.

    python benchmarks/serving_fallback.py [--calls 300 --rounds 3]

The churn example's feature groups (built from examples/churn/pipeline.yaml as a pipeline
run builds them) fitted on 5,000 generated churn rows, behind LightGBM (150 trees, one
thread, as the gateway sets it) and scikit-learn's HistGradientBoosting (100 iterations, no
``n_jobs`` to set). Each case is timed over ``--calls`` one-row calls of the request path
(`LoadedVersion.prepare` then `predict_prepared`: what the batcher runs for one request),
the cases interleaved round by round; figures are the median of the rounds' medians:

- scikit-learn: a one-row DataFrame through the fitted Pipeline (ColumnTransformer, then the model)
- NumPy features: the verified NumPy feature path feeding the same model
- each of the above for HistGradientBoosting with its OpenMP threads at the default (one per
  core) and limited to one for small batches (what the gateway now does)

The rows come from the reference profile's ranges and categories, unseen categories and
missing values included.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "churn"))


def churn_model(final):
    from generate import generate_churn
    from sklearn.pipeline import Pipeline

    from shipyard.data.features import build_feature_transformer
    from shipyard.monitoring.profile import categorical_profile, is_numeric, numeric_profile
    from shipyard.spec.loader import load_spec

    spec = load_spec(ROOT / "examples" / "churn" / "pipeline.yaml").spec
    frame = generate_churn(5000, seed=0)
    target = frame.pop(spec.data.target)
    features = build_feature_transformer(list(spec.features), available_columns=list(frame.columns))
    columns = [c for group in spec.features for c in group.columns]
    frame = frame[columns]
    model = Pipeline([("features", features), ("model", final)]).fit(frame, target)
    signature = {c: ("double" if is_numeric(frame[c]) else "string") for c in columns}
    profile = {"features": {c: numeric_profile(frame[c].dropna().to_numpy(dtype="float64")) if signature[c] == "double"
                            else categorical_profile(frame[c]) for c in columns}}
    return model, signature, profile


def timed_calls(loaded, rows: list[dict[str, list]], *, limit_threads: bool) -> float:
    """Median milliseconds of one request's prepare + predict."""
    from shipyard.serving import loaded as loaded_module

    times = []
    for row in rows:
        started = time.perf_counter()
        if limit_threads:
            loaded.predict_prepared(loaded.prepare(row))
        else:
            with _unlimited(loaded_module):
                loaded.predict_prepared(loaded.prepare(row))
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


@contextlib.contextmanager
def _unlimited(loaded_module):
    original = loaded_module.openmp_threads_for
    loaded_module.openmp_threads_for = lambda rows: contextlib.nullcontext()
    try:
        yield
    finally:
        loaded_module.openmp_threads_for = original


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from lightgbm import LGBMClassifier
    from sklearn.ensemble import HistGradientBoostingClassifier

    from shipyard.serving.compiled import sample_rows
    from shipyard.serving.loaded import LoadedVersion, one_thread_per_predict
    from shipyard.serving.numpy_features import try_numpy_features

    cases = {}
    for label, final in (("LightGBM", LGBMClassifier(n_estimators=150, learning_rate=0.05, verbose=-1)),
                         ("HistGradientBoosting", HistGradientBoostingClassifier(max_iter=100))):
        model, signature, profile = churn_model(final)
        sample = sample_rows(signature, profile)
        plain = LoadedVersion(model="churn", version="1", estimator=one_thread_per_predict(model),
                              signature=signature)
        fast = LoadedVersion(model="churn", version="1", estimator=plain.estimator, signature=signature)
        fast.numpy_features, reason = try_numpy_features(fast, sample)
        if fast.numpy_features is None:
            raise SystemExit(f"the NumPy feature path was refused for {label}: {reason}")
        rows = [{name: [values[i % len(values)]] for name, values in sample.items()} for i in range(args.calls)]
        limits = (True,) if label == "LightGBM" else (False, True)
        for limit in limits:
            suffix = "" if label == "LightGBM" else (", one OpenMP thread" if limit else ", OpenMP default threads")
            cases[f"{label}, scikit-learn{suffix}"] = (plain, rows, limit)
            cases[f"{label}, NumPy features{suffix}"] = (fast, rows, limit)
        features = model.steps[0][1]
        frame = plain.frame(rows[0])
        transform = []
        for _ in range(args.calls):
            started = time.perf_counter()
            features.transform(frame)
            transform.append(time.perf_counter() - started)
        numpy_rows = []
        for row in rows:
            started = time.perf_counter()
            fast.numpy_features.rows(row)
            numpy_rows.append(time.perf_counter() - started)
        print(f"{label}: ColumnTransformer.transform of one row {statistics.median(transform) * 1000:.3f} ms, "
              f"NumPy features {statistics.median(numpy_rows) * 1000:.3f} ms")
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, (loaded, rows, limit) in cases.items():
            results[name].append(timed_calls(loaded, rows, limit_threads=limit))
    print(f"one-row request (prepare + predict), median of {args.rounds} rounds of {args.calls} calls")
    print(f"{'case':<62} {'ms':>8}")
    for name, values in results.items():
        print(f"{name:<62} {statistics.median(values):8.3f}")
    np.testing.assert_array_equal(  # the paths answer the same
        *(loaded.predict_prepared(loaded.prepare(rows[0]))["predict_proba"]
          for loaded, rows, _ in list(cases.values())[-2:]))


if __name__ == "__main__":
    main()
