"""Bad input to `shipyard run`: a clear one-screen error, a non-zero exit, nothing registered."""

import sys
import textwrap
from pathlib import Path

import pytest

from shipyard.cli import main as shipyard

ROOT = Path(__file__).resolve().parents[2]

SPEC = textwrap.dedent("""\
    name: tiny
    data:
      source: {type: csv, path: data/churn.csv}
      target: churned
    expectations:
      on_violation: fail
      columns:
        tenure_months: {min: 0}
    split: {method: stratified, holdout: 0.25, seed: 1}
    features:
      - columns: [tenure_months, monthly_charges]
        transforms: [{kind: impute}, {kind: scale}]
    model:
      flavor: sklearn
      estimator: LogisticRegression
      params: {max_iter: 500}
""")


@pytest.fixture
def project(tmp_path, shipyard_home):
    sys.path.insert(0, str(ROOT / "examples" / "churn"))
    from generate import generate_churn

    (tmp_path / "data").mkdir()
    generate_churn(n_rows=1500, seed=3).to_csv(tmp_path / "data" / "churn.csv", index=False)
    (tmp_path / "pipeline.yaml").write_text(SPEC)
    return tmp_path


def run_cli(project, capsys, spec_text=None, *extra):
    if spec_text is not None:
        (project / "pipeline.yaml").write_text(spec_text)
    code = shipyard(["run", str(project / "pipeline.yaml"), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def nothing_registered(home: Path) -> bool:
    return not (home / "mlflow.db").exists()


def test_the_valid_spec_runs(project, capsys, shipyard_home):
    code, out, err = run_cli(project, capsys)
    assert code == 0, err
    assert "registered model: tiny version 1" in out


def test_missing_data_file(project, capsys, shipyard_home):
    (project / "data" / "churn.csv").unlink()
    code, out, err = run_cli(project, capsys)
    assert code == 3
    assert "churn.csv" in err and "Traceback" not in err
    assert nothing_registered(shipyard_home)


def test_missing_feature_column(project, capsys, shipyard_home):
    code, _, err = run_cli(project, capsys, SPEC.replace("monthly_charges]", "monthly_charge]"))
    assert code == 3
    assert "monthly_charge" in err and "monthly_charges" in err
    assert "Traceback" not in err
    assert nothing_registered(shipyard_home)


def test_expectation_violation_with_fail(project, capsys, shipyard_home):
    code, _, err = run_cli(project, capsys, SPEC.replace("{min: 0}", "{min: 0, max: 3}"))
    assert code == 3
    assert "tenure_months" in err and "max" in err
    assert "shipyard run --resume" in err
    assert nothing_registered(shipyard_home)


def test_unknown_estimator_is_refused_before_any_step_runs(project, capsys, shipyard_home):
    code, _, err = run_cli(project, capsys, SPEC.replace("LogisticRegression", "LogisticRegresion"))
    assert code == 2
    assert "LogisticRegresion" in err and "did you mean 'LogisticRegression'" in err
    assert nothing_registered(shipyard_home)


def test_misspelled_key(project, capsys, shipyard_home):
    code, _, err = run_cli(project, capsys, SPEC.replace("estimator:", "estimater:"))
    assert code == 2
    assert "estimater" in err and "estimator" in err
    assert "pipeline.yaml:" in err


def test_user_function_that_raises(project, capsys, shipyard_home):
    (project / "bad_features.py").write_text(textwrap.dedent("""\
        def make():
            raise RuntimeError("cannot build features today")
    """))
    spec = SPEC.replace("transforms: [{kind: impute}, {kind: scale}]", "function: bad_features:make")
    code, _, err = run_cli(project, capsys, spec)
    assert code == 4
    assert "cannot build features today" in err
    assert "Traceback" not in err
    assert nothing_registered(shipyard_home)


def test_debug_shows_the_traceback(project, capsys, shipyard_home):
    (project / "data" / "churn.csv").unlink()
    code = shipyard(["--debug", "run", str(project / "pipeline.yaml")])
    err = capsys.readouterr().err
    assert code == 3
    assert "Traceback" in err


def test_run_id_names_a_new_run_only(capsys):
    assert shipyard(["run", "--resume", "abcdef123456", "--run-id", "0123456789ab"]) == 2
    assert "a resumed run keeps its id" in capsys.readouterr().err
