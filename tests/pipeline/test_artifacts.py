"""The content-addressed artifact store, on a local folder and in object storage (an S3 API server on
loopback): the same layout, idempotent writes, and a modified artifact refused as tampered."""

import pytest
from s3_server import s3_env, s3_server  # noqa: F401 (fixtures)

from shipyard.config import load_settings
from shipyard.errors import BackendError, TamperedError
from shipyard.pipeline.artifacts import LocalArtifactStore, ObjectArtifactStore, open_artifact_store, sha256_bytes


def test_a_modified_local_artifact_is_refused_as_tampered(tmp_path):
    store = LocalArtifactStore(tmp_path)
    digest = store.put(b"frame bytes")
    store.path_for(digest).write_bytes(b"other bytes")
    with pytest.raises(TamperedError, match="does not match its digest") as caught:
        store.get(digest)
    assert caught.value.exit_code == 9 and "--no-cache" in caught.value.hint


def test_the_object_store_keeps_the_local_layout_and_checks_digests(s3_server, s3_env):  # noqa: F811
    bucket = s3_env
    store = ObjectArtifactStore(f"s3://{bucket}/team/artifacts/")
    digest = store.put(b"model bytes")
    assert digest == sha256_bytes(b"model bytes") and store.put(b"model bytes") == digest
    assert s3_server.keys(bucket) == [f"team/artifacts/sha256/{digest[:2]}/{digest}"]
    assert store.exists(digest) and store.get(digest) == b"model bytes"

    s3_server.client().put_object(Bucket=bucket, Key=f"team/artifacts/sha256/{digest[:2]}/{digest}", Body=b"x")
    with pytest.raises(TamperedError, match=f"s3://{bucket}/team/artifacts/sha256/"):
        store.get(digest)

    missing = sha256_bytes(b"never stored")
    assert not store.exists(missing)
    with pytest.raises(BackendError, match="is missing from"):
        store.get(missing)


@pytest.mark.parametrize("where", ["local", "s3"])
def test_keyed_blobs_are_replaced_read_and_deleted_in_both_stores(where, tmp_path, request):
    if where == "local":
        store = LocalArtifactStore(tmp_path)
    else:
        server, bucket = request.getfixturevalue("s3_server"), request.getfixturevalue("s3_env")
        store = ObjectArtifactStore(f"s3://{bucket}/artifacts")
    key = "checkpoints/run1/train"
    assert store.get_keyed(key) is None
    store.put_keyed(key, b"round 10")
    store.put_keyed(key, b"round 20")
    assert store.get_keyed(key) == b"round 20"
    if where == "s3":
        assert server.keys(bucket) == ["artifacts/keyed/checkpoints/run1/train"]
        assert store.keyed_path(key) == f"s3://{bucket}/artifacts/keyed/checkpoints/run1/train"
    store.delete_keyed(key)
    store.delete_keyed(key)  # deleting what is gone is no error
    assert store.get_keyed(key) is None
    with pytest.raises(ValueError, match="is not a blob key"):
        store.put_keyed("../escape", b"x")


def test_the_settings_choose_the_store(tmp_path, s3_env):  # noqa: F811
    local = open_artifact_store(load_settings({"SHIPYARD_HOME": str(tmp_path)}))
    assert isinstance(local, LocalArtifactStore) and local.root == tmp_path / "artifacts"
    remote = open_artifact_store(load_settings({"SHIPYARD_HOME": str(tmp_path),
                                                "SHIPYARD_ARTIFACTS": f"s3://{s3_env}/a"}))
    assert isinstance(remote, ObjectArtifactStore) and remote.url == f"s3://{s3_env}/a"
    memory = open_artifact_store(load_settings({"SHIPYARD_HOME": str(tmp_path), "SHIPYARD_ARTIFACTS": "memory://a"}))
    assert isinstance(memory, ObjectArtifactStore)  # any other fsspec URL
    assert memory.get(memory.put(b"bytes")) == b"bytes"


def test_an_unreachable_object_store_is_a_backend_error(tmp_path, monkeypatch):
    pytest.importorskip("s3fs")
    from shipyard.serving.server import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    store = ObjectArtifactStore("s3://nowhere/artifacts")
    with pytest.raises(BackendError, match="could not"):
        store.put(b"bytes")
