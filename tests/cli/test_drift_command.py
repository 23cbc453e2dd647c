"""`shipyard drift REFERENCE CURRENT`: two data sets, no model, the report and exit codes of `monitor`."""

import json
import re
import sqlite3

import numpy as np
import pandas as pd
import pytest

from shipyard.cli import main as shipyard


def _frame(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"spend": rng.normal(50 + 30 * shift, 10, n), "visits": rng.poisson(3, n),
                         "tier": rng.choice(["a", "b", "c"], n)})


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # the printed path in one piece, however long the temporary folder's name
    _frame(5_000, 0).to_parquet("ref.parquet", index=False)
    _frame(3_000, 1, shift=1.0).to_parquet("cur.parquet", index=False)
    _frame(3_000, 2).to_csv("same.csv", index=False)
    _frame(50, 3).to_parquet("few.parquet", index=False)
    return tmp_path


def test_prints_the_verdict_and_writes_the_html_page(data, capsys):
    assert shipyard(["drift", "ref.parquet", "cur.parquet", "--html", "drift.html"]) == 0
    out = capsys.readouterr().out
    assert "drift of cur.parquet against ref.parquet: critical" in out and "3,000 rows against 5,000" in out
    assert "spend" in out and str(data / "drift.html") in out
    page = (data / "drift.html").read_text()
    assert "Drift of cur.parquet against ref.parquet" in page and "<svg" in page and len(page) < 60_000


def test_json_and_fail_on_turn_the_verdict_into_an_exit_code(data, capsys):
    assert shipyard(["drift", "ref.parquet", "cur.parquet", "--json", "--fail-on", "critical"]) == 11
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["severity"] == "critical" and report["drifted"] == ["spend"]
    assert report["features"]["tier"]["severity"] == "ok" and report["reference"]["rows"] == 5_000
    assert "drift detected: drift severity of cur.parquet against ref.parquet is critical" in captured.err
    assert shipyard(["drift", "ref.parquet", "same.csv", "--fail-on", "warning"]) == 0
    assert "against ref.parquet: ok" in capsys.readouterr().out


def test_columns_pick_what_is_compared(data, capsys):
    assert shipyard(["drift", "ref.parquet", "cur.parquet", "--json", "--columns", "tier,visits"]) == 0
    assert set(json.loads(capsys.readouterr().out)["features"]) == {"tier", "visits"}
    assert shipyard(["drift", "ref.parquet", "cur.parquet", "--json", "--columns", "tier", "--columns", "spend"]) == 0
    assert set(json.loads(capsys.readouterr().out)["features"]) == {"tier", "spend"}


def test_queries_on_either_side(data, capsys):
    with sqlite3.connect(data / "shop.db") as connection:
        _frame(3_000, 1, shift=1.0).to_sql("live", connection, index=False)
    assert shipyard(["drift", "duckdb:SELECT * FROM 'ref.parquet'", "sql:SELECT * FROM live",
                     "--database", "sqlite:///shop.db", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["drifted"] == ["spend"] and report["current"]["source"] == "sql:SELECT * FROM live"


@pytest.mark.parametrize("args, code, message", [
    (["ref.parquet", "nope.parquet"], 3, "data file .*nope.parquet does not exist"),
    (["ref.parquet", "few.parquet"], 12, "not enough data: the current data \\(few.parquet\\) has 50 row"),
    (["ref.parquet", "cur.parquet", "--fail-on", "bad"], 2, "--fail-on bad: use warning or critical"),
    (["ref.parquet", "cur.parquet", "--columns", "spend,nope"], 3, "column 'nope' is not in the reference"),
    (["ref.parquet", "sql:SELECT * FROM live"], 2, "a sql: query needs the database"),
    (["ref.parquet", "drift.html"], 2, "cannot tell the format of 'drift.html'"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(data, capsys, args, code, message):
    (data / "drift.html").write_text("")
    assert shipyard(["drift", *args, "--html", "report.html"]) == code
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "hint:" in err and "Traceback" not in err and not (data / "report.html").exists()
