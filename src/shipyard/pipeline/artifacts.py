"""Content-addressed artifact storage: every blob is stored under the SHA-256 of its bytes."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from shipyard.errors import BackendError, TamperedError

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
        return checked(data, digest, path)

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


class ObjectArtifactStore:
    """The same layout as :class:`LocalArtifactStore` in object storage (any fsspec URL, e.g. ``s3://b/p``).

    Credentials and endpoint come from the backend's own chain (for S3: the AWS environment variables,
    ``~/.aws/config``, instance roles; ``AWS_ENDPOINT_URL_S3`` for an S3-compatible server).
    """

    def __init__(self, url: str):
        from shipyard.store.object_folder import ObjectFolder

        self.url = url.rstrip("/")
        self.folder = ObjectFolder(self.url)

    def name_for(self, digest: str) -> str:
        return f"sha256/{digest[:2]}/{digest}"

    def put(self, data: bytes) -> str:
        digest = sha256_bytes(data)
        if not self.exists(digest):
            self.folder.write(self.name_for(digest), data)
        return digest

    def get(self, digest: str) -> bytes:
        try:
            data = self.folder.read(self.name_for(digest))
        except FileNotFoundError:
            raise BackendError(
                f"artifact {digest[:12]} is missing from {self.url}",
                hint="the objects were deleted or the URL changed; re-run with --no-cache to rebuild them",
            ) from None
        return checked(data, digest, f"{self.url}/{self.name_for(digest)}")

    def exists(self, digest: str) -> bool:
        from shipyard.store.object_files import storage_errors

        with storage_errors(f"reach the artifact store {self.url}"):
            return self.folder.fs.exists(self.folder.location(self.name_for(digest)))

    def keyed_path(self, key: str) -> str:
        """The URL of the mutable blob (a checkpoint) named ``key``, beside the content-addressed ones."""
        return f"{self.url}/{self._keyed_name(key)}"

    def put_keyed(self, key: str, data: bytes) -> None:
        """Replace the blob under ``key``: one object write, which readers see whole or not at all."""
        self.folder.write(self._keyed_name(key), data)

    def get_keyed(self, key: str) -> bytes | None:
        try:
            return self.folder.read(self._keyed_name(key))
        except FileNotFoundError:
            return None

    def delete_keyed(self, key: str) -> None:
        from shipyard.store.object_files import storage_errors

        with storage_errors(f"delete {key} from the artifact store {self.url}"):
            try:
                self.folder.fs.rm_file(self.folder.location(self._keyed_name(key)))
            except FileNotFoundError:
                pass

    @staticmethod
    def _keyed_name(key: str) -> str:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"{key!r} is not a blob key (letters, digits, '_', '-', '.', '/' between parts)")
        return f"keyed/{key}"


def checked(data: bytes, digest: str, where: object) -> bytes:
    """``data`` if it hashes to ``digest``; a modified artifact is refused, never used."""
    if sha256_bytes(data) != digest:
        raise TamperedError(
            f"artifact {digest[:12]} at {where} does not match its digest: it was modified",
            hint="delete it and re-run with --no-cache to rebuild it",
        )
    return data


ARTIFACT_STORES = {"local": "shipyard.pipeline.artifacts:LocalArtifactStore",
                   "object": "shipyard.pipeline.artifacts:ObjectArtifactStore"}


def open_artifact_store(settings) -> ArtifactStore:
    """A folder's store, or the object store (fsspec: s3fs for ``s3://``) of a URL."""
    root = settings.artifact_root
    if isinstance(root, Path):
        return LocalArtifactStore(root)
    return ObjectArtifactStore(root)
