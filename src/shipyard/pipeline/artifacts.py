"""Content-addressed artifact storage: every blob is stored under the SHA-256 of its bytes."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from shipyard.errors import BackendError

_KEY = re.compile(r"^[A-Za-z0-9_\-.]+(/[A-Za-z0-9_\-.]+)*$")


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

    def put_keyed(self, key: str, data: bytes) -> None: ...

    def get_keyed(self, key: str) -> bytes | None: ...

    def delete_keyed(self, key: str) -> None: ...


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

    def keyed_path(self, key: str) -> Path:
        """Where a mutable blob (a checkpoint) named ``key`` lives, beside the content-addressed ones."""
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"{key!r} is not a blob key (letters, digits, '_', '-', '.', '/' between parts)")
        return self.root / "keyed" / key

    def put_keyed(self, key: str, data: bytes) -> None:
        """Replace the blob under ``key`` at once: a reader sees the old bytes or the new, never a mix."""
        target = self.keyed_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_keyed(self, key: str) -> bytes | None:
        try:
            return self.keyed_path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete_keyed(self, key: str) -> None:
        path = self.keyed_path(key)
        path.unlink(missing_ok=True)
        for folder in path.parents:
            if folder == self.root / "keyed" or not folder.is_relative_to(self.root):
                break
            try:
                folder.rmdir()
            except OSError:
                break


ARTIFACT_STORES = {"local": "shipyard.pipeline.artifacts:LocalArtifactStore"}


def open_artifact_store(settings) -> LocalArtifactStore:
    return LocalArtifactStore(settings.artifact_root)
