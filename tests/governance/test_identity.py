from __future__ import annotations

import contextvars
import threading

import pytest

from shipyard.governance.identity import Identity, acting_as, current_actor, current_identity, local_identity


def test_without_a_server_the_local_identity_acts(monkeypatch):
    monkeypatch.setenv("SHIPYARD_ACTOR", "ci-runner")
    identity = current_identity()
    assert identity == local_identity()
    assert (identity.name, identity.kind, identity.authenticated, identity.is_local) == \
        ("ci-runner", "local", False, True)
    assert current_actor() == "ci-runner"


def test_acting_as_sets_the_identity_for_the_block_and_threads_with_its_context(monkeypatch):
    monkeypatch.setenv("SHIPYARD_ACTOR", "ci-runner")
    alice = Identity(name="alice", kind="user", roles={"fraud": "developer"}, authenticated=True)
    bob = Identity(name="svc:bot", kind="service", roles={}, authenticated=True)
    seen = {}
    with acting_as(alice):
        assert current_actor() == "alice"
        with acting_as(bob):
            assert current_identity() is bob
        assert current_identity() is alice
        context = contextvars.copy_context()
        thread = threading.Thread(target=lambda: context.run(lambda: seen.update(name=current_actor())))
        thread.start()
        thread.join()
    assert seen == {"name": "alice"} and current_actor() == "ci-runner"


def test_an_identity_is_frozen_hashable_picklable_and_checks_its_roles():
    import pickle

    alice = Identity(name="alice", kind="user", roles={"fraud": "developer"})
    with pytest.raises(TypeError):
        alice.roles["fraud"] = "admin"
    copy = pickle.loads(pickle.dumps(alice))
    assert copy == alice and hash(copy) == hash(alice) and len({alice, copy}) == 1
    with pytest.raises(ValueError, match="not among viewer, developer, approver, admin"):
        Identity(name="x", kind="user", roles={"fraud": "owner"})
    with pytest.raises(ValueError, match="kind 'robot'"):
        Identity(name="x", kind="robot", roles={})


def test_an_identity_encodes_and_decodes_whole():
    from shipyard.governance.identity import decode_identity, encode_identity

    alice = Identity(name="alice", kind="user", roles={"fraud": "developer", "risk": "viewer"}, authenticated=True)
    root = Identity(name="svc:ci", kind="service", platform_admin=True, authenticated=True)
    for identity in (alice, root):
        assert decode_identity(encode_identity(identity)) == identity
    for text in ("", "[]", '{"name": "a"}', '{"name": "a", "kind": "user", "roles": ["x"], "platform_admin": false, '
                                            '"authenticated": true}'):
        with pytest.raises(ValueError, match="not an encoded identity"):
            decode_identity(text)
    with pytest.raises(ValueError, match="roles"):
        decode_identity(encode_identity(alice).replace("developer", "wizard"))
