"""`shipyard validate` and `shipyard schema`, plus the CLI's answers for other bad input."""

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import shipyard.cli.spec  # noqa: F401  (registers the commands on the app)
from shipyard.cli import app
from shipyard.cli import main as shipyard

ROOT = Path(__file__).resolve().parents[2]

SPEC = textwrap.dedent("""\
    name: churn
    team: growth
    data:
      source: {type: csv, path: data/churn.csv}
      target: churned
      timestamp: signup_at
    split: {method: stratified, holdout: 0.2, seed: 7}
    features:
      - name: numeric
        columns: [tenure_months, monthly_charges]
        transforms: [{kind: impute, strategy: median}, {kind: scale, method: standard}]
      - columns: [plan, region]
        transforms: [{kind: impute, strategy: most_frequent}, {kind: one_hot}]
    model:
      flavor: lightgbm
      estimator: LGBMClassifier
      params: {n_estimators: 200, learning_rate: 0.05, verbose: -1}
    sweep:
      n_trials: 8
      metric: roc_auc
      space:
        num_leaves: {type: int, low: 8, high: 64}
        learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
    evaluation: {metrics: [roc_auc, f1], slices: [plan]}
    retries: 1
    timeout: 10m
    step_options:
      train: {resources: {cpu: 2, memory: 2GiB}, timeout: 30m}
""")
NO_SWEEP = SPEC[:SPEC.index("sweep:")] + SPEC[SPEC.index("evaluation:"):]


@pytest.fixture(autouse=True)
def no_debug(monkeypatch):
    import shipyard.cli as cli

    monkeypatch.setitem(cli._state, "debug", False)


def write(tmp_path: Path, text: str) -> Path:
    """The spec, next to a small data file with the columns it names."""
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "churn.csv").write_text(
        "customer_id,signup_at,tenure_months,monthly_charges,plan,region,churned\n"
        "C1,2024-01-01,3,20.5,basic,north,1\nC2,2024-02-01,30,80.0,premium,south,0\n")
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return path


# ---------------------------------------------------------------- validate


def test_validate_prints_a_summary(tmp_path, capsys):
    path = write(tmp_path, SPEC)
    assert shipyard(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        f"{path}: ok",
        "  pipeline  churn (team growth)",
        "  model     lightgbm LGBMClassifier (classification)",
        "  sweep     8 trials on roc_auc (maximize)",
        "  steps     ingest → validate → split → features → sweep → train → evaluate → register",
    ]


def test_validate_lists_user_steps_and_no_sweep(tmp_path, capsys):
    (tmp_path / "tally.py").write_text("def report(metrics, summary):\n    return {}\n\n"
                                       "def profile(frame):\n    return {}\n")
    text = NO_SWEEP + textwrap.dedent("""\
        steps:
          - {name: report, function: 'tally:report', inputs: {metrics: evaluate.metrics, summary: profile.result}}
          - {name: profile, function: 'tally:profile', inputs: {frame: validate.frame}}
    """)
    assert shipyard(["validate", str(write(tmp_path, text))]) == 0
    assert capsys.readouterr().out.splitlines()[3:] == [
        "  sweep     none",
        "  steps     ingest → validate → split → features → train → evaluate → register",
        "  user step profile (after validate)",
        "  user step report (after evaluate, profile)",
    ]


def test_validate_a_pipeline_of_only_steps(tmp_path, capsys):
    (tmp_path / "etl.py").write_text("def extract():\n    return [1, 2]\n\ndef load(rows, table):\n    return len(rows)\n")
    text = textwrap.dedent("""\
        name: nightly
        steps:
          - {name: extract, function: 'etl:extract'}
          - {name: load, function: 'etl:load', inputs: {rows: extract.result}, params: {table: sales}}
    """)
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    assert shipyard(["validate", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: ok", "  pipeline  nightly", "  model     none: only the steps below run, and nothing is registered",
        "  user step extract (after nothing)", "  user step load (after extract)"]
    path.write_text(text.replace("params: {table: sales}", "params: {tabel: sales}"))
    assert shipyard(["validate", str(path)]) == 2
    assert "'etl:load' cannot be called with rows, tabel" in capsys.readouterr().err


def test_validate_the_examples(capsys):
    for example in ("churn", "breast_cancer"):
        assert shipyard(["validate", "--offline", str(ROOT / "examples" / example / "pipeline.yaml")]) == 0
    assert capsys.readouterr().out.count(": ok (--offline: the data source was not read)\n") == 2


def test_validate_with_the_cli_runner(tmp_path):
    result = CliRunner().invoke(app, ["validate", str(write(tmp_path, SPEC))])
    assert result.exit_code == 0, result.output
    assert "steps     ingest → validate" in result.output


def test_validate_errors_exit_2_without_traceback(tmp_path, capsys):
    path = write(tmp_path, SPEC.replace("flavor: lightgbm", "flavor: lightgmb"))
    assert shipyard(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"error: invalid pipeline spec: {path}:15:11: model.flavor: 'lightgmb' is not allowed; "
                            "did you mean 'lightgbm'? (allowed: sklearn, xgboost, lightgbm)\n")


def test_validate_shows_the_traceback_with_debug(tmp_path, capsys):
    path = write(tmp_path, SPEC.replace("flavor: lightgbm", "flavor: lightgmb"))
    assert shipyard(["--debug", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid pipeline spec:") and "Traceback" in err and "SpecError" in err


def test_validate_reports_every_problem(tmp_path, capsys):
    path = write(tmp_path, "name: x\ndata: {source: {type: csv, path: a.csv}, target: y}\nfeatures: []\n"
                           "model: {flavor: sklearn}\n")
    assert shipyard(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: invalid pipeline spec: 2 problems in {path}:\n")
    assert f"  {path}:3:1: features: needs at least 1 item, has 0\n" in err
    assert f"  {path}:4:1: model.estimator: missing required key 'estimator'\n" in err
    assert "Traceback" not in err


def test_validate_checks_how_steps_connect(tmp_path, capsys):
    text = SPEC + "steps:\n  - {name: profile, function: 'my_steps:profile', inputs: {frame: valdate.frame}}\n"
    assert shipyard(["validate", str(write(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    assert "error: invalid pipeline spec: step 'profile' input 'frame' reads 'valdate.frame'" in err


def test_validate_reports_every_finding_beyond_the_yaml_at_once(tmp_path, capsys):
    text = (SPEC.replace("target: churned", "target: churn").replace("monthly_charges]", "monthly_charge]")
            .replace("learning_rate: 0.05,", "learnin_rate: 0.05,").replace("metrics: [roc_auc, f1]", "metrics: [rmse]")
            + "promotion:\n  gates:\n    thresholds: ['mae <= 0.7']\n")
    path = write(tmp_path, text)
    assert shipyard(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = [line for line in captured.err.splitlines() if not line.startswith("      hint: ")]
    assert lines == [
        f"error: invalid pipeline spec: 5 problems in {path}:",
        f"  {path}:5:11: data.target: column 'churn' is not in the data; did you mean 'churned'?",
        f"  {path}:10:30: features[0].columns[1]: column 'monthly_charge' is not in the data; "
        "did you mean 'monthly_charges'?",
        f"  {path}:17:31: model.params.learnin_rate: LGBMClassifier takes no parameter 'learnin_rate'; "
        "did you mean 'learning_rate'?",
        f"  {path}:24:24: evaluation.metrics[0]: evaluation.metrics names 'rmse', which a classification model "
        "never computes",
        f"  {path}:31:18: promotion.gates.thresholds[0]: the threshold 'mae <= 0.7' is on 'mae', which a "
        "classification model never computes",
        "  hint: fix each one; `shipyard validate` checks them all without running anything",
    ]
    assert "Traceback" not in captured.err


def test_validate_offline_does_not_open_the_data(tmp_path, capsys):
    path = write(tmp_path, SPEC.replace("data/churn.csv", "warehouse/churn.csv"))
    assert shipyard(["validate", str(path)]) == 3
    assert f"error: data error: {path}:4:29: data.source.path: data file {tmp_path}/warehouse/churn.csv does not " \
           "exist\n" in capsys.readouterr().err
    assert shipyard(["validate", "--offline", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: ok (--offline: the data source was not read)\n")
    assert shipyard(["validate", "--offline", str(write(tmp_path, SPEC.replace("plan, region", "plan, regio")
                                                          .replace("data/churn.csv", "warehouse/churn.csv")))]) == 0


def test_run_stops_on_the_finding_validate_reports(tmp_path, capsys, shipyard_home, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, SPEC + "promotion:\n  gates:\n    thresholds: ['rmse <= 0.7']\n")
    finding = ("pipeline.yaml:31:18: promotion.gates.thresholds[0]: the threshold 'rmse <= 0.7' is on 'rmse', "
               "which a classification model never computes")
    assert shipyard(["validate", "pipeline.yaml"]) == 2
    assert capsys.readouterr().err.startswith(f"error: invalid pipeline spec: {finding}\n")
    assert shipyard(["run", "pipeline.yaml"]) == 2
    captured = capsys.readouterr()
    assert f"error: invalid pipeline spec: {finding}\n" in captured.err
    assert "(0/9 steps from cache)" in captured.out and "registered model" not in captured.out
    assert not (shipyard_home / "mlflow.db").exists()


def test_validate_a_missing_file(tmp_path, capsys):
    assert shipyard(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err.startswith(f"error: invalid pipeline spec: {tmp_path / 'nope.yaml'}: does not exist")


def test_validate_usage_errors_exit_2(capsys):
    assert shipyard(["validate"]) == 2
    err = capsys.readouterr().err
    assert "Missing argument" in err and "internal error" not in err


# ---------------------------------------------------------------- schema


def test_schema_prints_json(capsys):
    assert shipyard(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "shipyard pipeline" and schema["$schema"].endswith("/draft/2020-12/schema")
    assert schema["required"] == ["name"]
    assert schema["dependentRequired"]["model"] == ["data", "features"]
    assert schema["dependentRequired"]["data"] == ["features", "model"]
    assert {"required": ["model"]} in schema["anyOf"]


def test_schema_writes_a_file(tmp_path, capsys):
    target = tmp_path / "pipeline.schema.json"
    assert shipyard(["schema", "--output", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target}\n"
    assert shipyard(["schema"]) == 0
    assert target.read_text() == capsys.readouterr().out


def test_schema_to_an_unwritable_place(tmp_path, capsys):
    assert shipyard(["schema", "-o", str(tmp_path / "missing" / "schema.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write the schema:") and "Traceback" not in err


def test_schema_with_the_cli_runner():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["additionalProperties"] is False


# ---------------------------------------------------------------- other commands' bad input


def test_unknown_run_id_is_a_clear_not_found(shipyard_home, capsys):
    code = shipyard(["runs", "show", "doesnotexist"])
    err = capsys.readouterr().err
    assert code == 8
    assert "there is no run 'doesnotexist'" in err


def test_runs_list_when_empty(shipyard_home, capsys):
    assert shipyard(["runs", "list"]) == 0
    assert "no runs yet" in capsys.readouterr().out


def test_run_needs_a_spec_or_resume(capsys):
    assert shipyard(["run"]) == 2
    assert "error: usage error: give either a pipeline YAML or --resume RUN_ID" in capsys.readouterr().err


def test_lineage_of_unknown_model(shipyard_home, capsys):
    assert shipyard(["lineage", "ghost", "1"]) == 8
    assert "no registered model named 'ghost'" in capsys.readouterr().err
