"""The quota declaration: a TOML file named by SHIPYARD_QUOTAS (or quotas.toml under the home), checked key by key."""

import pytest

from shipyard.config import load_settings
from shipyard.errors import SpecError
from shipyard.governance.quotas import Quota, load_quotas, parse_quotas

FULL = """
[default]
runs = 3
cpu = 4

[teams.fraud]
runs = 2
cpu = 8
memory = "32GiB"
gpus = 1
sweep_trials = 4

[teams.growth]
memory = 1024
"""


def test_a_team_gets_its_table_over_the_default():
    table = parse_quotas(FULL, source="quotas.toml")
    assert table.for_team("fraud") == Quota(runs=2, cpu=8.0, memory=32 * 1024**3, gpus=1, sweep_trials=4)
    assert table.for_team("growth") == Quota(runs=3, cpu=4.0, memory=1024)
    assert table.for_team("risk") == Quota(runs=3, cpu=4.0), "a team not listed gets [default]"
    assert table.for_team(None) is None, "a run whose spec names no team has no team quota"


def test_a_team_with_nothing_limited_has_no_quota():
    table = parse_quotas("[teams.fraud]\n", source="quotas.toml")
    assert table.for_team("fraud") is None and table.for_team("other") is None


@pytest.mark.parametrize("text, needle", [
    ("[teams.fraud\nruns = 2", "quotas.toml: not valid TOML"),
    ("[limits]\nruns = 1", "quotas.toml: unknown key 'limits'"),
    ("[teams.fraud]\nrun = 2", "quotas.toml:teams.fraud.run is not a quota; allowed: runs, cpu, memory, gpus, "
                               "sweep_trials"),
    ("[teams.fraud]\nruns = 0", "quotas.toml:teams.fraud.runs = 0 is not allowed; give a whole number of runs"),
    ("[teams.fraud]\nruns = 1.5", "teams.fraud.runs = 1.5 is not allowed"),
    ("[teams.fraud]\nruns = true", "teams.fraud.runs = True is not allowed"),
    ("[teams.fraud]\ncpu = -1", "teams.fraud.cpu = -1 is not allowed; give a number of cores, above 0"),
    ("[teams.fraud]\ncpu = \"eight\"", "teams.fraud.cpu = 'eight' is not allowed"),
    ("[teams.fraud]\nmemory = \"lots\"", "teams.fraud.memory = 'lots' is not allowed; give bytes, or a size like"),
    ("[teams.fraud]\ngpus = -1", "teams.fraud.gpus = -1 is not allowed"),
    ("[default]\nsweep_trials = 0", "quotas.toml:default.sweep_trials = 0 is not allowed"),
    ("teams = 3", "quotas.toml:teams must be a table of teams"),
    ("[teams]\nfraud = 2", "quotas.toml:teams.fraud must be a table of limits"),
])
def test_a_bad_declaration_names_the_file_and_key_and_what_is_allowed(text, needle):
    with pytest.raises(SpecError) as caught:
        parse_quotas(text, source="quotas.toml")
    assert needle in caught.value.message
    assert caught.value.headline == "invalid quota file" and "[teams.fraud]" in caught.value.hint


def test_no_file_declares_no_quotas(tmp_path):
    settings = load_settings({"SHIPYARD_HOME": str(tmp_path)})
    assert settings.quotas_file is None and load_quotas(settings) is None


def test_the_file_comes_from_the_environment_or_the_home(tmp_path):
    (tmp_path / "quotas.toml").write_text("[default]\nruns = 1\n")
    named = tmp_path / "team-quotas.toml"
    named.write_text("[default]\nruns = 5\n")
    from_home = load_settings({"SHIPYARD_HOME": str(tmp_path)})
    assert load_quotas(from_home).for_team("any") == Quota(runs=1)
    from_env = load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_QUOTAS": str(named)})
    assert load_quotas(from_env).for_team("any") == Quota(runs=5)
    assert load_quotas(from_env).source == str(named)


def test_a_missing_named_file_is_a_bad_setting(tmp_path):
    with pytest.raises(SpecError, match="SHIPYARD_QUOTAS=.*nothere.toml names no file") as caught:
        load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_QUOTAS": str(tmp_path / "nothere.toml")})
    assert caught.value.headline == "invalid setting"


def test_a_bad_file_is_reported_with_its_path(tmp_path):
    path = tmp_path / "quotas.toml"
    path.write_text("[teams.fraud]\ncpu = 0\n")
    with pytest.raises(SpecError, match=f"{path}:teams.fraud.cpu = 0 is not allowed"):
        load_quotas(load_settings({"SHIPYARD_HOME": str(tmp_path)}))
