"""What a run needs to be reproduced: interpreter, platform, package versions, git commit."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

KEY_PACKAGES = ("shipyard", "mlflow", "scikit-learn", "lightgbm", "xgboost", "optuna", "pandas", "numpy",
                "pyarrow", "duckdb", "skops", "scipy")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def capture_environment() -> dict:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "executable": sys.executable,
        "packages": {name: _version(name) for name in KEY_PACKAGES},
    }


def pip_freeze() -> list[str]:
    seen = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            seen[name.lower()] = f"{name}=={dist.version}"
    return [seen[key] for key in sorted(seen)]


def requirements_for(model_flavor: str) -> list[str]:
    """Pinned requirements to serve a model of this flavor (no slow inference by MLflow)."""
    names = ["scikit-learn", "skops", "numpy", "pandas", "scipy"]
    if model_flavor in ("lightgbm", "xgboost"):
        names.append(model_flavor)
    pins = []
    for name in names:
        version = _version(name) or (_version("xgboost-cpu") if name == "xgboost" else None)
        if version:
            pins.append(f"{name}=={version}")
    return pins


def _git(path: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit(path: Path) -> str | None:
    return _git(path, "rev-parse", "HEAD")


def git_dirty(path: Path) -> bool | None:
    status = _git(path, "status", "--porcelain")
    return None if status is None else bool(status)
