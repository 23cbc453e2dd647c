"""deploy/prometheus: Prometheus's own checker accepts the gateway's alert rules, and their unit tests
(alerts_test.yml) pass: each alert fires on the series the gateway exports and stays quiet otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    """Debian's prometheus package ships it; skipped where missing unless SHIPYARD_REQUIRE_AMTOOL=1."""
    path = shutil.which("promtool")
    if path is None:
        reason = "promtool is not installed (apt-get install --no-install-recommends prometheus)"
        if os.environ.get("SHIPYARD_REQUIRE_AMTOOL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def test_promtool_accepts_every_rule(promtool):
    checked = subprocess.run([promtool, "check", "rules", str(RULES / "alerts.yml")], capture_output=True, text=True)
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr


def test_the_rules_unit_tests_pass(promtool):
    tested = subprocess.run([promtool, "test", "rules", str(RULES / "alerts_test.yml")], capture_output=True,
                            text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_a_broken_rule_is_refused(promtool, tmp_path):
    """The check is strict, so the acceptance above means something."""
    broken = tmp_path / "alerts.yml"
    rules = (RULES / "alerts.yml").read_text()
    broken.write_text(rules.replace("sum by (model) (increase(", "sum by (model (increase(", 1))
    checked = subprocess.run([promtool, "check", "rules", str(broken)], capture_output=True, text=True)
    assert checked.returncode != 0 and "parse error" in checked.stdout + checked.stderr
