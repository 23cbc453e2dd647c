"""Artifact throughput: one frame of about 100 MB stored and read back through the artifact store,
on a local folder and on an S3 API server on loopback, through fsspec/s3fs (``ObjectArtifactStore``,
what shipyard uses) and through obstore (the same layout and checks, in this script).

    python benchmarks/object_storage.py [--mb 100] [--rounds 3] [--out FILE]

The S3 side is moto's standalone server (``moto[server]``) on a free loopback port: real HTTP and the
S3 wire protocol, objects in its memory, so the figures measure the client stack and the protocol,
not a network or a disk. Every side hashes what it reads (the digest check the store always does).
Sides take turns within a round; each figure is the median over the rounds, in MB/s of the frame's
Parquet bytes (write: ``put``; read: ``get`` with the digest check; also the frame's decode).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from shipyard.pipeline.artifacts import LocalArtifactStore, ObjectArtifactStore, checked  # noqa: E402
from shipyard.pipeline.serialization import frame_to_parquet  # noqa: E402


class ObstoreArtifacts:
    """The artifact store's layout, HEAD-before-write and digest check over obstore's S3 client (the peer)."""

    def __init__(self, bucket: str, prefix: str, endpoint: str):
        from obstore.store import S3Store

        self.store = S3Store(bucket, prefix=prefix, endpoint=endpoint, region="us-east-1", allow_http=True,
                             access_key_id="testing", secret_access_key="testing")

    def put(self, data: bytes) -> str:
        import obstore
        from obstore.exceptions import NotFoundError

        digest = hashlib.sha256(data).hexdigest()
        try:
            obstore.head(self.store, f"sha256/{digest[:2]}/{digest}")
        except (FileNotFoundError, NotFoundError):
            obstore.put(self.store, f"sha256/{digest[:2]}/{digest}", data)
        return digest

    def get(self, digest: str) -> bytes:
        import obstore

        data = obstore.get(self.store, f"sha256/{digest[:2]}/{digest}").bytes().to_bytes()
        return checked(data, digest, digest)


def frame_of(megabytes: int):
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = megabytes * 1_000_000 // (8 * 10)
    return pd.DataFrame({f"x{i}": rng.standard_normal(rows) for i in range(10)})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(store, data: bytes, clean) -> tuple[float, float]:
    start = time.perf_counter()
    digest = store.put(data)
    written = time.perf_counter() - start
    start = time.perf_counter()
    assert store.get(digest) == data
    read = time.perf_counter() - start
    clean(digest)
    return written, read


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": endpoint})
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    data = frame_to_parquet(frame_of(args.mb))
    size_mb = len(data) / 1e6
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sides = {
                "local folder": (LocalArtifactStore(Path(tmp)),
                                 lambda d: (Path(tmp) / "sha256" / d[:2] / d).unlink()),
                "S3, s3fs (shipyard)": (ObjectArtifactStore("s3://bench/s3fs"),
                                      lambda d: client.delete_object(Bucket="bench", Key=f"s3fs/sha256/{d[:2]}/{d}")),
                "S3, obstore": (ObstoreArtifacts("bench", "obstore", endpoint),
                                lambda d: client.delete_object(Bucket="bench", Key=f"obstore/sha256/{d[:2]}/{d}")),
            }
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
            for _ in range(args.rounds):
                for name, (store, clean) in sides.items():
                    times[name].append(measure(store, data, clean))
    finally:
        server.stop()

    lines = [f"artifact throughput, one frame of {size_mb:.0f} MB (Parquet), median of {args.rounds} rounds",
             "", "| store | write MB/s | read + digest check MB/s | write s | read s |", "|---|---|---|---|---|"]
    for name, runs in times.items():
        write = statistics.median(w for w, _ in runs)
        read = statistics.median(r for _, r in runs)
        lines.append(f"| {name} | {size_mb / write:.1f} | {size_mb / read:.1f} | {write:.2f} | {read:.2f} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
