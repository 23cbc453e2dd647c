"""`shipyard scheduler …`: the policies, and bad options refused before anything is served."""

from shipyard.cli import main
from shipyard.scheduling.policies import POLICIES


def test_policies_lists_every_policy(shipyard_home, capsys):
    assert main(["scheduler", "policies"]) == 0
    assert capsys.readouterr().out.split() == list(POLICIES)


def test_an_unknown_policy_exits_2_with_the_allowed_ones(shipyard_home, capsys):
    assert main(["scheduler", "extender", "--policy", "tetris"]) == 2
    err = capsys.readouterr().err
    assert "no scheduling policy named 'tetris'" in err and "fgd-pack" in err


def test_an_unreadable_workload_exits_3(shipyard_home, tmp_path, capsys):
    assert main(["scheduler", "extender", "--workload", str(tmp_path / "absent.csv")]) == 3
    assert "cannot read" in capsys.readouterr().err
