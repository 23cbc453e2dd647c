"""The same logging and loading against MLflow on PostgreSQL: no code path only works embedded."""

import uuid

import numpy as np
import pytest
from tracked_run import FEATURES, log_run

from shipyard.config import Settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_settings(postgres_server_url, tmp_path):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"shipyard_mlflow_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    home = tmp_path / "home"
    yield Settings(home=home, database_url=f"sqlite:///{home / 'shipyard.db'}", mlflow_tracking_uri=url,
                   mlflow_artifact_root=home / "mlartifacts")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_log_register_and_load_on_postgresql(postgres_settings):
    from mlflow.tracking import MlflowClient

    from shipyard.registry.loading import load_model_version

    result, model, holdout = log_run(postgres_settings)
    client = MlflowClient(tracking_uri=postgres_settings.mlflow_tracking_uri,
                          registry_uri=postgres_settings.mlflow_tracking_uri)
    experiment = client.get_experiment(result.experiment_id)
    assert experiment.artifact_location == (postgres_settings.mlflow_artifact_root / "synth").as_uri()
    assert client.get_model_version("synth", result.model_version).tags["shipyard.model_sha256"] == result.model_sha256
    loaded = load_model_version("synth", result.model_version, settings=postgres_settings)
    assert np.array_equal(loaded.predict_proba(holdout[FEATURES]), model.predict_proba(holdout[FEATURES]))
