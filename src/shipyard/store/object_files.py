"""Files at a local path or an object-store URL, for the few places that write and list them by name.

A location is a :class:`~pathlib.Path` (a local file, used as is: fast and atomic by rename) or a
string URL such as ``s3://bucket/prefix/file.parquet`` (an object store replaces an object atomically
by itself). Credentials come from the backend's own chain (for S3 the AWS environment and config).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from shipyard.config import is_url
from shipyard.errors import BackendError, ShipyardError


@contextlib.contextmanager
def storage_errors(action: str, hint: str = "check the URL, the credentials and that the storage is reachable"
                   ) -> Iterator[None]:
    """Any failure of the storage client (an unreachable endpoint, refused credentials: the S3 clients raise
    their own exception kinds, not OSError) becomes a BackendError; a missing file stays FileNotFoundError."""
    try:
        yield
    except (FileNotFoundError, ShipyardError):
        raise
    except Exception as exc:
        raise BackendError(f"could not {action}: {type(exc).__name__}: {exc}", hint=hint) from exc


def filesystem(url: str):
    """The fsspec filesystem of a URL and the URL's path within it."""
    from fsspec.core import url_to_fs

    try:
        return url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise BackendError(f"cannot open the storage at {url}: {exc}",
                           hint="install the fsspec backend for its scheme (pip install 'shipyard[s3]' for s3://)"
                           ) from None


def location(root: Path | str) -> Path | str:
    """A local folder as a Path, an object-store URL as is."""
    return root if isinstance(root, str) and is_url(root) else Path(root)


def join(root: Path | str, *parts: str) -> Path | str:
    if isinstance(root, str) and is_url(root):
        return "/".join([root.rstrip("/"), *parts])
    return Path(root).joinpath(*parts)


def write_bytes(location: str, data: bytes) -> None:
    fs, path = filesystem(location)
    with storage_errors(f"write {location}"):
        fs.pipe_file(path, data)


def exists(location: Path | str) -> bool:
    if isinstance(location, Path):
        return location.exists()
    fs, path = filesystem(location)
    with storage_errors(f"look for {location}"):
        fs.invalidate_cache(path.rsplit("/", 1)[0])
        return fs.exists(path)


def glob(root: Path | str, pattern: str) -> list[Path | str]:
    """The files under ``root`` matching ``pattern`` (``model=x/hour=*/*.parquet``), sorted."""
    if isinstance(root, Path) or not is_url(root):
        return sorted(Path(root).glob(pattern))
    fs, path = filesystem(root)
    with storage_errors(f"list {root}"):
        fs.invalidate_cache()
        found = fs.glob(f"{path.rstrip('/')}/{pattern}")
    return sorted(fs.unstrip_protocol(p) for p in found)


def read_bytes(location: Path | str) -> bytes:
    if isinstance(location, Path):
        return location.read_bytes()
    fs, path = filesystem(location)
    with storage_errors(f"read {location}"):
        return fs.cat_file(path)


def hive_table(pieces: list[tuple[Path | str, object]], root: Path | str):
    """Arrow tables of files under ``root`` as one table, columns united by name, the ``key=value`` folders of
    each file's path as trailing string columns (sorted by key): what DuckDB's hive partitioning makes of them."""
    import pyarrow as pa

    tables = [table for _, table in pieces]
    partitions = []
    for file, _ in pieces:
        folders = str(file)[len(str(root)):].strip("/").split("/")[:-1]
        partitions.append(dict(folder.split("=", 1) for folder in folders if "=" in folder))
    table = pa.concat_tables(tables, promote_options="permissive")
    for key in sorted({key for found in partitions for key in found}):
        values = [found.get(key) for found, t in zip(partitions, tables) for _ in range(t.num_rows)]
        table = table.append_column(key, pa.array(values, pa.string()))
    return table
