"""Turning step outputs into bytes and back: Parquet for frames, canonical JSON for
plain data, skops (safe, allow-listed types only) for fitted objects."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from shipyard.pipeline.artifacts import ArtifactStore


@dataclass(frozen=True, kw_only=True)
class StoredArtifact:
    digest: str
    format: str
    size_bytes: int
    meta: dict[str, Any] = field(default_factory=dict)

    def ref(self) -> dict[str, str]:
        return {"digest": self.digest, "format": self.format}


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default,
                      allow_nan=True).encode()


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _is_frame(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and type(value).__name__ == "DataFrame"


def frame_to_parquet(frame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def parquet_to_frame(data: bytes):
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pandas()


def encode(value: Any, *, extra_modules: tuple[str, ...] = ()) -> tuple[bytes, str, dict[str, Any]]:
    if _is_frame(value):
        return frame_to_parquet(value), "parquet", {"rows": int(len(value)), "columns": [str(c) for c in value.columns]}
    if isinstance(value, bytes):
        return value, "bytes", {}
    if value is None or isinstance(value, (dict, list, str, int, float, bool)):
        return canonical_json(value), "json", {}
    from shipyard.registry.trust import dumps_safe

    data, trusted = dumps_safe(value, extra_modules=extra_modules)
    return data, "skops", {"type": f"{type(value).__module__}.{type(value).__qualname__}", "trusted_types": trusted}


def decode(data: bytes, format: str, *, extra_modules: tuple[str, ...] = ()) -> Any:
    if format == "parquet":
        return parquet_to_frame(data)
    if format == "json":
        return json.loads(data)
    if format == "bytes":
        return data
    if format == "skops":
        from shipyard.registry.trust import loads_safe

        return loads_safe(data, extra_modules=extra_modules)
    raise ValueError(f"unknown artifact format {format!r}")


def save_value(store: ArtifactStore, value: Any, *, extra_modules: tuple[str, ...] = ()) -> StoredArtifact:
    data, format, meta = encode(value, extra_modules=extra_modules)
    digest = store.put(data)
    return StoredArtifact(digest=digest, format=format, size_bytes=len(data), meta=meta)


def load_value(store: ArtifactStore, ref: dict[str, str], *, extra_modules: tuple[str, ...] = ()) -> Any:
    return decode(store.get(ref["digest"]), ref["format"], extra_modules=extra_modules)
