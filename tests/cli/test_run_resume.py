"""`shipyard run --resume` after a spec error: refused with the stored spec once the file changed, and
`--spec FILE` continues the same run with the fixed file, keeping the steps it does not change."""

import textwrap

from shipyard.cli import main as shipyard
from shipyard.store import runs as store

from test_run_errors import SPEC, project  # noqa: F401  (the fixture)

PICK = textwrap.dedent("""\
    from shipyard.errors import SpecError

    def pick(frame, column):
        if column not in frame.columns:
            raise SpecError(f"steps.pick.params.column: no column '{column}'",
                            hint="name one of the data's columns")
        return int(frame[column].notna().sum())
""")

STEP = textwrap.dedent("""\
    steps:
      - name: pick
        function: pick_steps:pick
        inputs: {frame: validate.frame}
        params: {column: COLUMN}
""")


def _spec(column):
    return SPEC + STEP.replace("COLUMN", column)


def test_resume_after_a_spec_error_takes_the_fixed_file(project, capsys, shipyard_home):  # noqa: F811
    (project / "pick_steps.py").write_text(PICK)
    spec = project / "pipeline.yaml"
    spec.write_text(_spec("tenure_monthz"))
    assert shipyard(["run", str(spec)]) == 2
    err = capsys.readouterr().err
    run_id = store.list_runs(limit=1)[0].id
    assert f"shipyard run --resume {run_id} --spec {spec}" in err

    spec.write_text(_spec("tenure_months"))
    assert shipyard(["run", "--resume", run_id]) == 6
    err = capsys.readouterr().err
    assert "failed on its spec" in err and "has changed since" in err
    assert f"--spec {spec}" in err
    assert store.get_run(run_id).status == "failed"

    assert shipyard(["run", "--resume", run_id, "--spec", str(spec)]) == 0
    captured = capsys.readouterr()
    assert "registered model: tiny version 1" in captured.out
    assert "ingest: cached" in captured.err or "ingest: succeeded" in captured.err
    assert "done before resume" in captured.err
    record = store.get_run(run_id)
    assert record.status == "succeeded"
    assert "tenure_months}" in record.spec_text and "tenure_monthz" not in record.spec_text


def test_spec_of_another_pipeline_is_refused(project, capsys, shipyard_home):  # noqa: F811
    (project / "pick_steps.py").write_text(PICK)
    spec = project / "pipeline.yaml"
    spec.write_text(_spec("tenure_monthz"))
    assert shipyard(["run", str(spec)]) == 2
    run_id = store.list_runs(limit=1)[0].id
    other = project / "other.yaml"
    other.write_text(_spec("tenure_months").replace("name: tiny", "name: huge"))
    capsys.readouterr()
    assert shipyard(["run", "--resume", run_id, "--spec", str(other)]) == 6
    err = capsys.readouterr().err
    assert "describes pipeline 'huge', but run" in err and "Traceback" not in err
    assert store.get_run(run_id).spec_text == _spec("tenure_monthz")


def test_spec_without_resume_is_an_error(project, capsys):  # noqa: F811
    assert shipyard(["run", str(project / "pipeline.yaml"), "--spec", str(project / "pipeline.yaml")]) == 2
    assert "error: usage error: --spec goes with --resume" in capsys.readouterr().err
