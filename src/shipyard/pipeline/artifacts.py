"""Content-addressed artifact storage: every blob is stored under the SHA-256 of its bytes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from shipyard.errors import BackendError


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactStore(Protocol):
    def put(self, data: bytes) -> str: ...

    def get(self, digest: str) -> bytes: ...

    def exists(self, digest: str) -> bool: ...


class LocalArtifactStore:
    """Blobs under ``root/sha256/ab/abcdef…``; writes are atomic and idempotent."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, digest: str) -> Path:
        return self.root / "sha256" / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = sha256_bytes(data)
        target = self.path_for(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        path = self.path_for(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BackendError(
                f"artifact {digest[:12]} is missing from {self.root}",
                hint="the artifact folder was cleaned or moved; re-run with --no-cache to rebuild it",
            ) from None
        if sha256_bytes(data) != digest:
            raise BackendError(
                f"artifact {digest[:12]} at {path} does not match its digest: the file was modified",
                hint="delete the file and re-run with --no-cache to rebuild it",
            )
        return data

    def exists(self, digest: str) -> bool:
        return self.path_for(digest).exists()


ARTIFACT_STORES = {"local": "shipyard.pipeline.artifacts:LocalArtifactStore"}


def open_artifact_store(settings) -> LocalArtifactStore:
    return LocalArtifactStore(settings.artifact_root)
