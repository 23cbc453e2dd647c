"""Safe serialization of fitted objects with skops and an allow-list of types.

Loading never trusts a type list stored next to the data: the types found in the
bytes are checked against shipyard's policy (the field's libraries plus the user
modules named in the spec) and anything else is refused.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable

from shipyard.errors import RefusedError

TRUSTED_MODULE_PREFIXES = ("sklearn.", "lightgbm.", "xgboost.", "numpy.", "scipy.", "shipyard.", "collections.",
                           "builtins.", "pandas.")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _allowed(type_name: str, extra_modules: Iterable[str]) -> bool:
    prefixes = TRUSTED_MODULE_PREFIXES + tuple(f"{m}." for m in extra_modules)
    return type_name.startswith(prefixes)


def _check(untrusted: list[str], extra_modules: Iterable[str]) -> list[str]:
    extra_modules = tuple(extra_modules)
    refused = [t for t in untrusted if not _allowed(t, extra_modules)]
    if refused:
        raise RefusedError(
            f"the object contains types outside shipyard's safe-loading allow-list: {', '.join(refused)}",
            hint="types from scikit-learn, LightGBM, XGBoost, NumPy, SciPy and the modules of your spec's "
                 "'module:function' references are allowed; define custom transformers in such a module")
    return sorted(untrusted)


def _canonical_zip(data: bytes) -> bytes:
    """Make equal objects give equal bytes.

    skops names entries and memo ids after ``id()`` of objects in memory and
    stamps entries with the current time; renumber both in order of appearance
    and fix the time, keeping every reference consistent.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def renumber(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    node[key] = ids.setdefault(value, len(ids) + 1)
                elif key == "file" and isinstance(value, str) and value in source.namelist():
                    suffix = value.rsplit(".", 1)[-1] if "." in value else "bin"
                    node[key] = files.setdefault(value, f"{len(files) + 1}.{suffix}")
                else:
                    renumber(value)
        elif isinstance(node, list):
            for item in node:
                renumber(item)

    renumber(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        target.writestr(zipfile.ZipInfo("schema.json", date_time=_FIXED_TIME),
                        json.dumps(schema, sort_keys=True, indent=1))
        for original, renamed in sorted(files.items(), key=lambda item: item[1]):
            target.writestr(zipfile.ZipInfo(renamed, date_time=_FIXED_TIME), source.read(original))
    return out.getvalue()


def dumps_safe(obj, *, extra_modules: Iterable[str] = ()) -> tuple[bytes, list[str]]:
    """skops bytes (byte-stable for equal objects) and the trusted types they need."""
    import skops.io as sio

    data = _canonical_zip(sio.dumps(obj))
    return data, _check(sio.get_untrusted_types(data=data), extra_modules)


def trusted_types_for(obj, *, extra_modules: Iterable[str] = ()) -> list[str]:
    return dumps_safe(obj, extra_modules=extra_modules)[1]


def loads_safe(data: bytes, *, extra_modules: Iterable[str] = ()):
    import skops.io as sio

    trusted = _check(sio.get_untrusted_types(data=data), extra_modules)
    return sio.loads(data, trusted=trusted)
