from __future__ import annotations

from shipyard.cli import main as shipyard
from shipyard.governance.tokens import authenticate_bearer
from twin_stores import twins  # noqa: F401  (fixture)


def test_bootstrap_then_tokens_create_list_revoke(shipyard_home, capsys):
    assert shipyard(["admin", "bootstrap", "root"]) == 0
    root_token = capsys.readouterr().out.strip().splitlines()[-1]
    assert authenticate_bearer(root_token).platform_admin

    assert shipyard(["teams", "create", "fraud"]) == 0
    assert shipyard(["teams", "add-member", "fraud", "svc:ci", "--role", "developer"]) == 0
    capsys.readouterr()
    assert shipyard(["tokens", "create", "--name", "ci", "--for", "svc:ci", "--expires-in", "30d"]) == 0
    out = capsys.readouterr().out
    secret = out.strip().splitlines()[-1]
    assert "not shown again" in out and secret.startswith("shy_")
    token_id = out.split("(id ")[1].split(")")[0]

    assert shipyard(["tokens", "list"]) == 0
    listing = capsys.readouterr().out
    assert "svc:ci" in listing and "active" in listing and secret not in listing and root_token not in listing

    assert shipyard(["tokens", "revoke", token_id]) == 0
    assert "revoked token 'ci'" in capsys.readouterr().out
    assert shipyard(["tokens", "revoke", token_id]) == 6
    assert "already revoked" in capsys.readouterr().err
    assert shipyard(["tokens", "list", "--for", "svc:ci"]) == 0
    assert "revoked" in capsys.readouterr().out


def test_token_mistakes_exit_non_zero_with_a_hint(shipyard_home, capsys):
    assert shipyard(["tokens", "create", "--name", "x", "--for", "nobody"]) == 8
    assert "no identity 'nobody'" in capsys.readouterr().err
    assert shipyard(["tokens", "create", "--name", "x", "--expires-in", "soon"]) == 2
    assert "hint: e.g. 30d" in capsys.readouterr().err
    assert shipyard(["tokens", "revoke", "nope"]) == 8
    assert shipyard(["admin", "bootstrap", "bad name"]) == 2


def test_tokens_create_with_gateway_scopes(shipyard_home, capsys):
    assert shipyard(["admin", "bootstrap", "root"]) == 0
    assert shipyard(["teams", "create", "fraud"]) == 0
    assert shipyard(["teams", "add-member", "fraud", "svc:scorer", "--role", "viewer"]) == 0
    capsys.readouterr()
    assert shipyard(["tokens", "create", "--name", "scorer", "--for", "svc:scorer", "--scope", "inference:churn",
                     "--scope", "metrics"]) == 0
    assert "gateway scopes: inference:churn, metrics." in capsys.readouterr().out
    assert shipyard(["tokens", "list", "--for", "svc:scorer"]) == 0
    assert "scopes inference:churn,metrics" in capsys.readouterr().out
    assert shipyard(["tokens", "create", "--name", "x", "--for", "svc:scorer", "--scope", "admin"]) == 2
    err = capsys.readouterr().err
    assert "'admin' is not a token scope" in err and "hint: e.g. --scope inference:churn" in err


def test_the_tokens_commands_say_the_same_in_process_and_through_a_server(twins):
    def seed():
        assert shipyard(["teams", "create", "fraud"]) == 0
        assert shipyard(["teams", "add-member", "fraud", "svc:ci", "--role", "developer"]) == 0

    both = twins(seed)
    both.same(["tokens", "list"])
    local, remote = both.same(["tokens", "create", "--name", "ci", "--for", "svc:ci", "--expires-in", "30d",
                               "--scope", "metrics"])
    secrets = [outcome.out.strip().splitlines()[-1] for outcome in (local, remote)]
    assert all(s.startswith("shy_") for s in secrets) and secrets[0] != secrets[1]
    ids = [outcome.out.split("(id ")[1].split(")")[0] for outcome in (local, remote)]
    both.same(["tokens", "create", "--name", "forever", "--expires-in", "never"])
    listed, remote_listed = both.same(["tokens", "list"])
    assert "svc:ci" in listed.out and "scopes metrics" in listed.out and "expires never" in listed.out
    assert secrets[0] not in listed.out and secrets[1] not in remote_listed.out
    both.same(["tokens", "list", "--for", "svc:ci", "--json"])
    revoked, _ = both.same(["tokens", "revoke", ids[0]], remote_argv=["tokens", "revoke", ids[1]])
    assert revoked.out.startswith("revoked token 'ci' (id ")
    both.same(["tokens", "revoke", ids[0]], remote_argv=["tokens", "revoke", ids[1]], code=6, err="already revoked")
    both.same(["tokens", "list", "--for", "svc:ci"])
    for argv, code, needle in [
        (["tokens", "revoke", "nope"], 8, "there is no token with id 'nope'"),
        (["tokens", "create", "--name", "x", "--for", "nobody"], 8, "no identity 'nobody'"),
        (["tokens", "create", "--name", "x", "--expires-in", "soon"], 2, "hint: e.g. 30d"),
        (["tokens", "create", "--name", "x", "--scope", "admin"], 2, "admin"),
        (["tokens", "list", "--for", "nobody"], 0, None),
    ]:
        both.same(argv, code=code, err=needle)
