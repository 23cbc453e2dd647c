import subprocess
import sys

import shipyard


def test_public_api_is_pinned():
    assert shipyard.__all__ == [
        "LoadedSpec", "PipelineRun", "PipelineSpec", "RunOptions", "Settings", "ShipyardError", "__version__",
        "compute_drift", "deploy", "get_deployment", "load_model_version", "load_settings", "load_spec",
        "model_lineage", "resume", "run", "set_traffic",
    ]
    for name in shipyard.__all__:
        assert getattr(shipyard, name) is not None


def test_importing_the_package_and_cli_stays_light():
    code = ("import sys, shipyard, shipyard.cli, shipyard.pipeline.runner; "
            "heavy = [m for m in ('pandas', 'sklearn', 'mlflow', 'lightgbm', 'optuna') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
