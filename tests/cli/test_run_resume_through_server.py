"""`shipyard run --resume` through ``shipyard server`` takes --spec, --no-cache and --from as in-process."""

from api_server import api_server, config_home  # noqa: F401  (fixtures)
from shipyard.cli import main as shipyard
from shipyard.store import runs as store

from test_run_errors import project  # noqa: F401  (the fixture)
from test_run_resume import PICK, _spec


def test_a_failed_run_resumes_through_the_server_with_a_fixed_spec_and_without_the_cache(
        api_server, project, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SHIPYARD_URL", api_server.url)
    monkeypatch.setenv("SHIPYARD_TOKEN", api_server.tokens["root"])
    (project / "pick_steps.py").write_text(PICK)
    spec = project / "pipeline.yaml"
    spec.write_text(_spec("tenure_monthz"))
    assert shipyard(["run", str(spec)]) == 2
    run_id = store.list_runs(limit=1)[0].id
    capsys.readouterr()

    other = project / "other.yaml"
    other.write_text(_spec("tenure_months").replace("name: tiny", "name: huge"))
    assert shipyard(["run", "--resume", run_id, "--spec", str(other)]) == 6
    assert "describes pipeline 'huge', but run" in capsys.readouterr().err
    spec.write_text(_spec("tenure_months"))
    assert shipyard(["run", "--resume", run_id, "--spec", str(spec), "--from", "nosuch"]) == 2
    assert "no step named 'nosuch'" in capsys.readouterr().err
    record = store.get_run(run_id)
    assert record.status == "failed" and record.spec_text == _spec("tenure_monthz")

    assert shipyard(["run", "--resume", run_id, "--spec", str(spec), "--no-cache", "--from", "train"]) == 0
    assert "registered model: tiny version 1" in capsys.readouterr().out
    record = store.get_run(run_id)
    assert record.status == "succeeded" and record.started_by == "root"
    assert "tenure_months}" in record.spec_text and "tenure_monthz" not in record.spec_text
    assert not any(step.cache_hit for step in record.steps)
