"""Exit codes from `shipyard.cli.invoke`: however a command ends, the process gets the right code."""

import gc
import os
import subprocess
import sys

import pytest
import typer

import shipyard.cli as cli
from shipyard.errors import NotFoundError, SpecError

demo = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)


@demo.callback()
def _root() -> None:
    pass


@demo.command("returns")
def returns(value: str) -> object:
    return {"int": 3, "zero": 0, "text": "done", "true": True, "none": None}[value]


@demo.command("typer-exit")
def typer_exit(code: int) -> None:
    raise typer.Exit(code)


@demo.command("ctx-exit")
def ctx_exit(ctx: typer.Context, code: int) -> None:
    ctx.exit(code)


@demo.command("click-exit")
def click_exit(code: int) -> None:
    click = pytest.importorskip("click")
    raise click.exceptions.Exit(code)


@demo.command("sys-exit")
def sys_exit(code: int) -> None:
    sys.exit(code)


@demo.command("abort")
def abort() -> None:
    raise typer.Abort()


@demo.command("interrupt")
def interrupt() -> None:
    raise KeyboardInterrupt


@demo.command("spec-error")
def spec_error() -> None:
    raise SpecError("pipeline.yaml:3:5: model.flavor: 'torch' is not allowed")


@demo.command("not-found")
def not_found() -> None:
    raise NotFoundError("there is no run 'x'", hint="list runs with: shipyard runs list")


@demo.command("bug")
def bug() -> None:
    raise ZeroDivisionError("oops")


@pytest.fixture(autouse=True)
def no_debug(monkeypatch):
    monkeypatch.setitem(cli._state, "debug", False)


@pytest.mark.parametrize(("argv", "code"), [
    (["returns", "int"], 3),
    (["returns", "zero"], 0),
    (["returns", "text"], 0),
    (["returns", "true"], 0),
    (["returns", "none"], 0),
    (["typer-exit", "4"], 4),
    (["typer-exit", "0"], 0),
    (["ctx-exit", "5"], 5),
    (["click-exit", "6"], 6),
    (["sys-exit", "9"], 9),
    (["--help"], 0),
    (["returns", "--help"], 0),
])
def test_exit_codes(argv, code):
    assert cli.invoke(demo, argv) == code


def test_usage_errors_exit_2_with_clicks_message(capsys):
    assert cli.invoke(demo, ["no-such-command"]) == 2
    assert "No such command 'no-such-command'" in capsys.readouterr().err
    assert cli.invoke(demo, ["typer-exit", "not-a-number"]) == 2
    err = capsys.readouterr().err
    assert "Invalid value" in err and "Traceback" not in err


def test_no_arguments_prints_help(capsys):
    assert cli.invoke(demo, []) == 2
    assert "typer-exit" in capsys.readouterr().out


def test_abort_and_interrupt_exit_130(capsys):
    assert cli.invoke(demo, ["abort"]) == 130
    assert "aborted" in capsys.readouterr().err
    assert cli.invoke(demo, ["interrupt"]) == 130


def test_shipyard_errors_print_headline_and_message(capsys):
    assert cli.invoke(demo, ["spec-error"]) == 2
    assert capsys.readouterr().err == ("error: invalid pipeline spec: pipeline.yaml:3:5: model.flavor: "
                                       "'torch' is not allowed\n")
    assert cli.invoke(demo, ["not-found"]) == 8
    assert capsys.readouterr().err == ("error: not found: there is no run 'x'\n"
                                       "  hint: list runs with: shipyard runs list\n")


def test_bugs_are_internal_errors_with_traceback(capsys):
    assert cli.invoke(demo, ["bug"]) == 70
    err = capsys.readouterr().err
    assert err.startswith("internal error:") and "ZeroDivisionError: oops" in err and "Traceback" in err


@pytest.mark.parametrize("argv, command", [
    (["run", "missing.yaml"], "run"), (["--debug", "step", "run", "r1", "s1"], "step"), (["runs", "list"], "runs"),
    (["run", "--help"], None), (["--help"], None), ([], None)])
def test_the_command_asked_for_is_the_first_word_unless_help_is_asked_for(argv, command):
    assert cli._command_named(argv) == command


def test_shipyard_run_builds_only_its_own_command_and_answers_like_the_whole_tree(tmp_path):
    import os
    import subprocess

    script = ("import sys; from shipyard.cli import main; code = main(sys.argv[1:]); "
              "print(code, sorted(m for m in sys.modules if m.startswith('shipyard.cli.')))")
    env = {**os.environ, "SHIPYARD_HOME": str(tmp_path / "home"), "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("SHIPYARD_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", script, "run", str(tmp_path / "missing.yaml")], env=env,
                          capture_output=True, text=True, timeout=120)
    code, modules = done.stdout.strip().split(" ", 1)
    assert code == str(SpecError.exit_code) and "missing.yaml" in done.stderr
    assert "shipyard.cli.run" in modules and "shipyard.cli.models" not in modules


def test_imports_for_the_process_pause_the_collector_only_in_a_process_the_cli_owns():
    frozen = gc.get_freeze_count()
    with cli.imports_for_the_process():
        assert gc.isenabled()  # a caller's process (this test) keeps its collector as it was
    assert gc.get_freeze_count() == frozen
    owned = ("import gc\nimport shipyard.cli as cli\ncli._state['owns_process'] = True\n"
             "with cli.imports_for_the_process():\n    paused = not gc.isenabled()\n    import decimal\n"
             "print(paused, gc.isenabled(), gc.get_freeze_count() > 0)")
    done = subprocess.run([sys.executable, "-c", owned], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True"]  # paused while importing, running again, loads frozen
