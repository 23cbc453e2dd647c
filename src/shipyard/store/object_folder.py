"""A folder of named objects at a local path or any fsspec URL (``s3://bucket/prefix`` with s3fs installed).

Whole objects are written and read at once; a local write is atomic (written aside, then renamed),
and object stores replace an object atomically by themselves.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shipyard.errors import BackendError
from shipyard.store.object_files import storage_errors


class ObjectFolder:
    def __init__(self, url: str):
        from fsspec.core import url_to_fs
        from fsspec.implementations.local import LocalFileSystem

        self.url = url
        try:
            self.fs, self.root = url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise BackendError(f"cannot open the storage at {url}: {exc}",
                               hint="install the fsspec backend for its scheme (e.g. s3fs for s3://)") from None
        self.is_local = isinstance(self.fs, LocalFileSystem)

    def location(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    def write(self, name: str, data: bytes) -> str:
        """Store ``data`` as ``name``, replacing it; returns the object's full location."""
        target = self.location(name)
        try:
            if self.is_local:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=Path(target).parent, prefix=".tmp-")
                try:
                    with os.fdopen(fd, "wb") as handle:
                        handle.write(data)
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            else:
                with storage_errors(f"write {name} to {self.url}"):
                    self.fs.pipe_file(target, data)
        except OSError as exc:
            raise BackendError(f"could not write {name} to {self.url}: {exc}",
                               hint="check that the storage is reachable and writable") from exc
        return self.protocol_location(target)

    def read(self, name: str) -> bytes:
        with storage_errors(f"read {name} from {self.url}"):
            return self.fs.cat_file(self.location(name))

    def names(self) -> list[str]:
        """The objects directly in the folder, sorted; an absent folder is empty."""
        try:
            with storage_errors(f"list {self.url}"):
                entries = self.fs.ls(self.root, detail=False, refresh=True) if not self.is_local \
                    else self.fs.ls(self.root, detail=False)
        except FileNotFoundError:
            return []
        names = (entry.rstrip("/").rsplit("/", 1)[-1] for entry in entries)
        return sorted(name for name in names if not name.startswith("."))

    def protocol_location(self, path: str) -> str:
        return path if self.is_local else self.fs.unstrip_protocol(path)
