"""An S3 API server on a loopback port (moto's standalone server) and the environment that points clients at it."""

from __future__ import annotations

import uuid

import pytest

from shipyard.serving.server import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


class S3Server:
    """moto's ThreadedMotoServer: real HTTP and the S3 wire protocol, objects in memory."""

    def __init__(self):
        pytest.importorskip("moto.server", reason="moto[server] is in the dev extra")
        pytest.importorskip("s3fs", reason="s3fs is in the s3 extra")
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def environment(self) -> dict[str, str]:
        """What the standard AWS chain (boto3, s3fs) and MLflow read to reach this server."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL_S3": self.endpoint, "MLFLOW_S3_ENDPOINT_URL": self.endpoint}

    def start(self) -> S3Server:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def new_bucket(self) -> str:
        name = f"shipyard-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@pytest.fixture(scope="session")
def s3_server():
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """The AWS environment pointed at the loopback S3 server, and a fresh bucket's name."""
    for name, value in s3_server.environment.items():
        monkeypatch.setenv(name, value)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    return s3_server.new_bucket()
