"""What a run needs to be reproduced: interpreter, platform, package versions, git commit."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

KEY_PACKAGES = ("shipyard", "mlflow", "scikit-learn", "lightgbm", "xgboost", "optuna", "pandas", "numpy",
                "pyarrow", "duckdb", "skops", "scipy")
_DISTRIBUTIONS = {"xgboost": ("xgboost", "xgboost-cpu")}
_SERVING_PACKAGES = ("scikit-learn", "skops", "numpy", "pandas", "scipy")


def _distribution(package: str) -> tuple[str, str] | None:
    """The installed distribution providing ``package``: its name and version."""
    for name in _DISTRIBUTIONS.get(package, (package,)):
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def package_version(package: str) -> str | None:
    found = _distribution(package)
    return found[1] if found else None


def capture_environment() -> dict:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "executable": sys.executable,
        "packages": {name: package_version(name) for name in KEY_PACKAGES},
    }


def pip_freeze() -> list[str]:
    pins: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            pins.setdefault(re.sub(r"[-_.]+", "-", name).lower(), f"{name}=={dist.version}")
    return [pins[key] for key in sorted(pins)]


def requirements_for(model_flavor: str) -> list[str]:
    """Pinned requirements to serve a model of this flavor, so MLflow need not infer them."""
    packages = _SERVING_PACKAGES + ((model_flavor,) if model_flavor in ("lightgbm", "xgboost") else ())
    return [f"{name}=={version}" for package in packages if (found := _distribution(package))
            for name, version in [found]]


def _git(path: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit(path: Path) -> str | None:
    return _git(path, "rev-parse", "--verify", "HEAD") or None


def git_dirty(path: Path) -> bool | None:
    """Whether tracked files have uncommitted changes; untracked files do not count."""
    if git_commit(path) is None:
        return None
    status = _git(path, "status", "--porcelain", "--untracked-files=no")
    return None if status is None else bool(status)
