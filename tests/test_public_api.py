import subprocess
import sys

import shipyard


def test_public_api_is_pinned():
    assert shipyard.__all__ == [
        "LoadedSpec", "PipelineRun", "PipelineSpec", "RunOptions", "Settings", "ShipyardError", "__version__",
        "checkpoint", "compute_drift", "data_drift", "deploy", "get_deployment", "load_model_version", "load_settings",
        "load_spec", "model_lineage", "resume", "run", "set_traffic",
    ]
    for name in shipyard.__all__:
        assert getattr(shipyard, name) is not None


def test_importing_the_package_and_cli_stays_light():
    code = ("import sys, shipyard, shipyard.cli, shipyard.pipeline.runner; "
            "heavy = [m for m in ('pandas', 'sklearn', 'mlflow', 'lightgbm', 'optuna') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_drift_between_files_loads_neither_pandas_nor_scipy(tmp_path):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    for name, shift in (("ref", 0.0), ("cur", 0.3)):
        pq.write_table(pa.table({"x": rng.normal(shift, 1, 5_000), "tier": rng.choice(["a", "b"], 5_000)}),
                       tmp_path / f"{name}.parquet")
    code = ("import sys; from shipyard.cli import main; "
            "code = main(['drift', 'ref.parquet', 'cur.parquet', '--json']); "
            "heavy = [m for m in ('pandas', 'scipy', 'sklearn', 'mlflow', 'sqlalchemy') if m in sys.modules]; "
            "print(code, ','.join(heavy), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert done.stderr.strip() == "0", done.stderr
