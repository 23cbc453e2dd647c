"""The churn example end to end with artifacts, MLflow artifacts and the prediction log in S3 (a real S3 API
server on loopback), and a modified object in the bucket refused as tampered."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from s3_server import s3_server  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.mark.timeout(1800)
def test_churn_demo_keeps_everything_in_s3(tmp_path, s3_server, monkeypatch):  # noqa: F811
    from shipyard.config import load_settings
    from shipyard.monitoring.runs import history
    from shipyard.serving.deployments import get_deployment
    from shipyard.store.db import reset_engines

    bucket = s3_server.new_bucket()
    example = tmp_path / "churn"
    shutil.copytree(ROOT / "examples" / "churn", example, ignore=shutil.ignore_patterns("data", "__pycache__"))
    home = tmp_path / "home"
    storage = {"SHIPYARD_HOME": str(home), "SHIPYARD_ARTIFACTS": f"s3://{bucket}/artifacts",
               "SHIPYARD_PREDICTION_LOG": f"s3://{bucket}/predictions",
               "SHIPYARD_MLFLOW_ARTIFACTS": f"s3://{bucket}/mlflow", **s3_server.environment}
    env = {k: v for k, v in os.environ.items() if k not in ("SHIPYARD_DATABASE_URL", "MLFLOW_TRACKING_URI")}
    env.update(storage)
    done = subprocess.run([sys.executable, str(example / "demo.py")], env=env, capture_output=True, text=True,
                          timeout=1700, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "drift of churn version 1: critical" in done.stdout
    assert f"predictions logged under s3://{bucket}/predictions" in done.stdout

    keys = s3_server.keys(bucket)
    artifacts = [k for k in keys if k.startswith("artifacts/sha256/")]
    assert len(artifacts) > 10
    assert any(k.startswith("predictions/model=churn/hour=") and k.endswith(".parquet") for k in keys)
    assert any(k.startswith("mlflow/") and k.endswith("/MLmodel") for k in keys)  # the models MLflow logged
    assert not any((home / name).exists() for name in ("artifacts", "predictions", "mlartifacts"))

    for name, value in storage.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    reset_engines()
    try:
        [report] = history("churn", settings=settings)  # the drift report read the log back from S3
        assert {"monthly_charges", "plan", "region"} <= set(report.report["drifted"])
        assert get_deployment("churn", settings=settings).stable_version == "2"
    finally:
        reset_engines()

    client = s3_server.client()
    for key in artifacts:  # overwrite every artifact: whatever lineage reads first is refused
        client.put_object(Bucket=bucket, Key=key, Body=b"tampered")
    lineage = subprocess.run([sys.executable, "-m", "shipyard", "lineage", "churn", "1"], env=env,
                             capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert lineage.returncode == 9, lineage.stdout + lineage.stderr
    assert "does not match its digest" in lineage.stderr + lineage.stdout
