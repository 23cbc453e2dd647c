"""Model flavors and task types end to end: XGBoost classification, scikit-learn regression."""

import sys
import textwrap
from pathlib import Path

import pytest

from shipyard.pipeline.api import run
from shipyard.registry.loading import load_model_version

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

BASE = textwrap.dedent("""\
    name: {name}
    data:
      source: {{type: csv, path: churn.csv}}
      target: {target}
    split: {{method: {split}, holdout: 0.25, seed: 3}}
    features:
      - columns: [age, tenure_months, support_calls]
        transforms: [{{kind: impute}}, {{kind: scale}}]
      - columns: [plan]
        transforms: [{{kind: impute, strategy: most_frequent}}, {{kind: ordinal}}]
    model:
      {model}
    evaluation: {{slices: [plan]}}
""")


@pytest.fixture
def data_dir(tmp_path, shipyard_home):
    sys.path.insert(0, str(ROOT / "examples" / "churn"))
    from generate import generate_churn

    generate_churn(n_rows=1200, seed=8).to_csv(tmp_path / "churn.csv", index=False)
    return tmp_path


def test_xgboost_classifier(data_dir):
    pytest.importorskip("xgboost", reason="xgboost is an optional extra")
    spec = BASE.format(name="xgb", target="churned", split="stratified",
                       model="{flavor: xgboost, estimator: XGBClassifier, params: {n_estimators: 30, max_depth: 3}}")
    (data_dir / "pipeline.yaml").write_text(spec)
    result = run(data_dir / "pipeline.yaml")
    assert result.status == "succeeded", result.error
    assert 0.5 < result.metrics["overall"]["roc_auc"] <= 1
    model = load_model_version("xgb", 1)
    assert type(model.named_steps["estimator"]).__name__ == "XGBClassifier"


def test_sklearn_regression(data_dir):
    spec = BASE.format(name="charges", target="monthly_charges", split="random",
                       model="{flavor: sklearn, estimator: Ridge, params: {alpha: 1.0}}")
    (data_dir / "pipeline.yaml").write_text(spec)
    result = run(data_dir / "pipeline.yaml")
    assert result.status == "succeeded", result.error
    overall = result.metrics["overall"]
    assert set(overall) == {"rmse", "mae", "r2"} and overall["rmse"] > 0
    assert result.metrics["task"] == "regression"
    assert set(result.metrics["slices"]["plan"]) == {"basic", "standard", "premium"}
