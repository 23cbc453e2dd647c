"""A whole pipeline with a sweep, with the metadata store and MLflow both on PostgreSQL."""

import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shipyard.pipeline.api import run
from shipyard.store import runs as store
from shipyard.store.db import reset_engines

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SPEC = textwrap.dedent("""\
    name: pg_churn
    data:
      source: {type: csv, path: churn.csv}
      target: churned
    split: {method: stratified, holdout: 0.25, seed: 1}
    features:
      - columns: [tenure_months, monthly_charges, support_calls]
        transforms: [{kind: impute}, {kind: scale}]
      - columns: [plan]
        transforms: [{kind: impute, strategy: most_frequent}, {kind: one_hot}]
    model:
      flavor: lightgbm
      estimator: LGBMClassifier
      params: {n_estimators: 40}
    sweep:
      n_trials: 3
      metric: roc_auc
      cv_folds: 2
      space:
        num_leaves: {type: int, low: 8, high: 32}
    promotion:
      gates:
        thresholds: ["roc_auc >= 0.6"]
        champion: {metric: roc_auc}
        schema: {}
""")


@pytest.fixture
def mlflow_postgres_url(postgres_server_url):
    name = f"shipyard_mlflow_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_pipeline_on_postgresql(tmp_path, monkeypatch, postgres_database_url, mlflow_postgres_url):
    sys.path.insert(0, str(ROOT / "examples" / "churn"))
    from generate import generate_churn

    generate_churn(n_rows=1500, seed=5).to_csv(tmp_path / "churn.csv", index=False)
    (tmp_path / "pipeline.yaml").write_text(SPEC)
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", postgres_database_url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_postgres_url)
    reset_engines()
    result = run(tmp_path / "pipeline.yaml")
    assert result.status == "succeeded", result.error
    assert result.step("sweep").details["trials"] == 3
    assert result.registration["model_version"] == "1"
    record = store.get_run(result.run_id)
    assert record.model_name == "pg_churn" and record.status == "succeeded"
    from shipyard.governance.audit import verify_chain
    from shipyard.registry.cards import verify_card
    from shipyard.registry.lifecycle import get_state

    assert get_state("pg_churn", 1).state == "staging"
    assert verify_card("pg_churn", 1) == []
    assert verify_chain().ok

    engine = create_engine(postgres_database_url)
    with engine.connect() as connection:
        trials = connection.execute(text("SELECT count(*) FROM trials")).scalar()
    engine.dispose()
    assert trials == 3

    again = run(tmp_path / "pipeline.yaml")
    assert again.cache_hits == len(again.steps)
    reset_engines()
