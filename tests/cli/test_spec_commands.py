import json
from pathlib import Path

from shipyard.cli import main as shipyard

ROOT = Path(__file__).resolve().parents[2]


def test_validate_prints_the_plan(capsys):
    code = shipyard(["validate", str(ROOT / "examples" / "churn" / "pipeline.yaml")])
    out = capsys.readouterr().out
    assert code == 0
    assert "lightgbm LGBMClassifier (classification)" in out
    assert "ingest → validate → split → features → sweep → train → evaluate → register" in out


def test_validate_reports_errors_with_exit_code_2(tmp_path, capsys):
    bad = tmp_path / "pipeline.yaml"
    bad.write_text("name: x\ndata: {source: {type: csv, path: a.csv}, target: y}\nfeatures: []\n")
    code = shipyard(["validate", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: invalid pipeline spec:")
    assert "missing required key 'model'" in err and "Traceback" not in err


def test_schema_prints_json_and_writes_a_file(tmp_path, capsys):
    assert shipyard(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "PipelineSpec" in json.dumps(schema) or schema["title"] == "shipyard pipeline"
    target = tmp_path / "schema.json"
    assert shipyard(["schema", "--output", str(target)]) == 0
    assert json.loads(target.read_text())["required"] == schema["required"]


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
    assert "give either a pipeline YAML or --resume RUN_ID" in capsys.readouterr().err


def test_lineage_of_unknown_model(shipyard_home, capsys):
    assert shipyard(["lineage", "ghost", "1"]) == 8
    assert "no registered model named 'ghost'" in capsys.readouterr().err
