"""Fixtures shared by the pipeline tests that run the churn example on Airflow."""

import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.store.db import reset_engines

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def churn(tmp_path):
    """The churn example on a small data set, with a short sweep and no rollout (no gateway runs here)."""
    folder = tmp_path / "churn"
    folder.mkdir()
    text = (ROOT / "examples/churn/pipeline.yaml").read_text()
    text = text.replace("n_trials: 6", "n_trials: 2").replace("cv_folds: 3", "cv_folds: 2")
    text = text[:text.index("# A version that passes its gates")]
    (folder / "pipeline.yaml").write_text(text)
    subprocess.run([sys.executable, str(ROOT / "examples/churn/generate.py"), "--rows", "2000",
                    "--out", str(folder / "data" / "churn.csv")], check=True, capture_output=True)
    return folder / "pipeline.yaml"


@pytest.fixture
def postgres_store(new_postgres_database, tmp_path, monkeypatch):
    """A fresh SHIPYARD_HOME on a database of its own on the PostgreSQL server; the variables a DAG's tasks need."""
    url = new_postgres_database("shipyard_airflow")
    home = tmp_path / "shipyard-home"
    monkeypatch.setenv("SHIPYARD_HOME", str(home))
    monkeypatch.setenv("SHIPYARD_DATABASE_URL", url)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    reset_engines()
    yield {"SHIPYARD_HOME": str(home), "SHIPYARD_DATABASE_URL": url}
    reset_engines()
