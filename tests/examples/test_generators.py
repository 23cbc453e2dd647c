import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ruamel.yaml import YAML

from shipyard.data.expectations import validate_frame
from shipyard.data.sources import read_source
from shipyard.spec.models import PipelineSpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"example_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def churn():
    return load(EXAMPLES / "churn" / "generate.py")


@pytest.fixture(scope="module")
def base(churn) -> pd.DataFrame:
    return churn.generate_churn(n_rows=20000, seed=0)


def test_churn_shape_and_columns(base):
    assert base.shape == (20000, 13)
    assert list(base.columns) == ["customer_id", "signup_at", "age", "tenure_months", "monthly_charges",
                                  "total_charges", "support_calls", "plan", "contract", "region",
                                  "payment_method", "has_partner", "churned"]
    assert base["customer_id"].iloc[0] == "C000001" and base["customer_id"].iloc[-1] == "C020000"
    assert base["customer_id"].is_unique
    assert all(re.fullmatch(r"C\d{6}", c) for c in base["customer_id"].head(50))
    span = base["signup_at"].max() - base["signup_at"].min()
    assert pd.Timedelta(days=3 * 365 - 10) < span <= pd.Timedelta(days=3 * 365)
    assert base["signup_at"].is_monotonic_increasing
    assert set(base["plan"]) == {"basic", "standard", "premium"}
    assert set(base["contract"]) == {"monthly", "annual", "two_year"}
    assert set(base["region"]) == {"north", "south", "east", "west", "central"}
    assert set(base["payment_method"].dropna()) == {"electronic_check", "mailed_check", "bank_transfer",
                                                    "credit_card"}
    assert set(base["has_partner"]) == {0, 1} and set(base["churned"]) == {0, 1}
    for column in ("age", "tenure_months", "support_calls"):
        assert pd.api.types.is_integer_dtype(base[column])
    assert base["age"].between(18, 90).all() and base["tenure_months"].between(0, 72).all()


def test_churn_rates(base):
    assert 0.15 <= base["churned"].mean() <= 0.20
    assert 0.015 <= base["total_charges"].isna().mean() <= 0.025
    assert 0.005 <= base["payment_method"].isna().mean() <= 0.015
    calls = base["support_calls"]
    assert calls.median() <= 1 and calls.max() >= 10
    assert base.drop(columns=["total_charges", "payment_method"]).notna().all().all()


def test_churn_is_deterministic_per_seed(churn, base):
    pd.testing.assert_frame_equal(churn.generate_churn(n_rows=20000, seed=0), base)
    other = churn.generate_churn(n_rows=20000, seed=1)
    assert not other["churned"].equals(base["churned"])


def test_churn_is_learnable(base):
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = ["age", "tenure_months", "monthly_charges", "support_calls", "has_partner"]
    categories = ["plan", "contract", "payment_method"]
    model = make_pipeline(
        make_column_transformer((StandardScaler(), numbers),
                                (make_pipeline(SimpleImputer(strategy="most_frequent"),
                                               OneHotEncoder(handle_unknown="ignore")), categories)),
        LogisticRegression(max_iter=500))
    train, test = base.iloc[:15000], base.iloc[15000:]
    model.fit(train, train["churned"])
    auc = roc_auc_score(test["churned"], model.predict_proba(test)[:, 1])
    assert 0.78 <= auc <= 0.92


def test_shift_moves_distributions(churn, base):
    shifted = churn.generate_churn(n_rows=20000, seed=0, shift=1.0)
    assert shifted["monthly_charges"].mean() > base["monthly_charges"].mean() + 5
    assert shifted["support_calls"].mean() > base["support_calls"].mean() * 1.3
    assert (shifted["plan"] == "basic").mean() > (base["plan"] == "basic").mean() + 0.2
    assert 0.08 <= (shifted["region"] == "islands").mean() <= 0.18
    assert shifted["signup_at"].min() > base["signup_at"].min() + pd.Timedelta(days=360)
    mild = churn.generate_churn(n_rows=20000, seed=0, shift=0.5)
    assert base["support_calls"].mean() < mild["support_calls"].mean() < shifted["support_calls"].mean()


def test_churn_cli_and_example_expectations(churn, tmp_path):
    out = tmp_path / "nested" / "churn.csv"
    assert churn.main(["--rows", "2000", "--seed", "3", "--out", str(out)]) == 0
    spec = PipelineSpec.model_validate(YAML(typ="safe").load((EXAMPLES / "churn" / "pipeline.yaml").read_text()))
    data = spec.data.model_copy(update={"source": spec.data.source.model_copy(update={"path": str(out)})})
    frame = read_source(data, tmp_path)
    assert frame.shape == (2000, 13)
    _, report = validate_frame(frame, spec.expectations, target=data.target, timestamp=data.timestamp)
    assert report["passed"] is True and report["rows_dropped"] == 0


def test_breast_cancer_export(tmp_path):
    export = load(EXAMPLES / "breast_cancer" / "export.py")
    out = tmp_path / "data" / "bc.csv"
    assert export.main(["--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert frame.shape == (569, 31)
    assert frame["malignant"].sum() == 212
    assert all(re.fullmatch(r"[a-z_]+", c) for c in frame.columns)
    assert {"mean_radius", "mean_concave_points", "worst_fractal_dimension"} <= set(frame.columns)
    assert frame["mean_radius"][frame["malignant"] == 1].mean() > frame["mean_radius"][frame["malignant"] == 0].mean()
    spec = PipelineSpec.model_validate(
        YAML(typ="safe").load((EXAMPLES / "breast_cancer" / "pipeline.yaml").read_text()))
    assert set(spec.features[0].columns) <= set(frame.columns)
    assert np.isfinite(frame.drop(columns="malignant").to_numpy()).all()
