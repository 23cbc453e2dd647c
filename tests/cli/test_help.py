"""`shipyard … --help` as a new user reads it: flags look like flags, and the exit codes are documented."""

import re
from pathlib import Path

import click
import pytest
import typer

import shipyard.cli as cli
from shipyard.errors import exit_codes

ROOT = Path(__file__).resolve().parents[2]


def _command_paths():
    cli._register_commands()
    paths = []

    def walk(command, path):
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(cli.app), [])
    return paths


COMMANDS = _command_paths()


def test_every_command_is_reached():
    assert len(COMMANDS) > 20 and ["models", "card"] in COMMANDS and ["monitor"] in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "shipyard")
def test_no_help_shows_a_flag_as_taking_a_value(path, capsys):
    assert cli.main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--help" in out and "<bool>" not in out


def test_a_flag_still_shows_no_type_while_options_keep_theirs(capsys):
    assert cli.main(["run", "--help"]) == 0
    lines = {line.split()[1]: line for line in capsys.readouterr().out.splitlines() if line.startswith("│ --")}
    assert lines["--json"].split()[2] == "Print" and "RUN_ID" in lines["--resume"]


def test_the_exit_codes_are_one_table_in_help_and_readme(capsys):
    codes = [code for code, _ in exit_codes()]
    assert len(codes) == len(set(codes)) and codes == sorted(codes)
    assert cli.main(["--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    readme = (ROOT / "README.md").read_text()
    documented = dict(re.findall(r"^\| `(\d+)` \| (.+?) \|$", readme, flags=re.M))
    for code, meaning in exit_codes():
        assert f"{code} {meaning}" in help_text
        assert documented.get(str(code)) == meaning, code
    assert len(documented) == len(codes)


def test_usage_mistakes_are_usage_errors_not_spec_errors(capsys):
    for argv in (["models", "promote", "churn", "1", "--to", "nowhere"], ["monitor", "churn", "--fail-on", "panic"],
                 ["audit", "log", "--since", "yesterday"], ["traffic", "set", "churn", "--canary", "4:x"]):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: usage error:") and "invalid pipeline spec" not in err, (argv, err)
    cli.main(["models", "promote", "churn", "1", "--to", "nowhere"])
    assert "allowed: staging, production" in capsys.readouterr().err
    assert click.UsageError("x").exit_code == 2  # click's own usage errors share the code
