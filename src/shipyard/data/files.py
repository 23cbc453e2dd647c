"""Which data files a path names: one file, a glob, or a folder of files of one format."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from shipyard.errors import DataError

GLOB_CHARS = frozenset("*?[")
SUFFIXES = {"csv": (".csv", ".csv.gz", ".csv.bz2", ".csv.zst", ".tsv"),
            "parquet": (".parquet", ".pq")}


def has_glob(path: str) -> bool:
    return any(char in GLOB_CHARS for char in path)


def matched_files(pattern: str, base_dir: Path, kind: str, *,
                  base_name: str = "the spec file's folder") -> list[Path]:
    """The files ``pattern`` names under ``base_dir``, in sorted order; a DataError when there are none.

    ``base_name`` says in error hints what ``base_dir`` is to the user.
    """
    resolved = base_dir / os.path.expanduser(pattern)
    if has_glob(pattern):
        files = sorted(Path(p) for p in glob.glob(str(resolved), recursive=True) if os.path.isfile(p))
        if not files:
            raise DataError(f"no files match {resolved}",
                            hint=f"the {kind} path '{pattern}' is relative to {base_name} "
                                 f"({base_dir}); check the pattern")
        return files
    if resolved.is_dir():
        files = sorted(p for p in resolved.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES[kind]))
        if not files:
            raise DataError(f"folder {resolved} holds no {kind} files ({', '.join(SUFFIXES[kind])})",
                            hint="point the path at a file, a glob or a folder of data files")
        return files
    if not resolved.exists():
        raise DataError(f"data file {resolved} does not exist",
                        hint=f"the {kind} path '{pattern}' is relative to {base_name} "
                             f"({base_dir}); create the file or fix the path")
    return [resolved]
