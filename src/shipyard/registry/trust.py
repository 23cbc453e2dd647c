"""Safe serialization of fitted objects with skops and an allow-list of types.

Loading never trusts a type list stored next to the data: the types named in
the bytes themselves are checked against shipyard's policy (the field's
libraries plus the user modules named in the spec) and anything else is
refused. A type passes when its module is allowed, it imports, it is defined in
an allowed module (no re-exported foreign callable), and it is a class, except
that a function may be referenced (never called while loading) when it does not
come from ``builtins``. skops can also call a class with arguments taken from
the file; shipyard refuses that for every type skops does not trust itself.
"""

from __future__ import annotations

import importlib
import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterable

from shipyard.errors import RefusedError

TRUSTED_MODULE_PREFIXES = ("sklearn.", "lightgbm.", "xgboost.", "numpy.", "scipy.", "shipyard.", "builtins.",
                           "collections.")
_REFERENCE_LOADERS = frozenset({"FunctionNode", "TypeNode"})
_CALLED_WITH_FILE_ARGUMENTS = "ConstructorFromReduceNode"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_UNIX = 3


def _prefixes(extra_modules: Iterable[str]) -> tuple[str, ...]:
    return TRUSTED_MODULE_PREFIXES + tuple(f"{module.strip('.')}." for module in extra_modules if module)


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return f"{module}.".startswith(prefixes)


def _loaders_by_type(schema) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("__loader__"), str) and node.get("__module__") and node.get("__class__"):
                found[f"{node['__module__']}.{node['__class__']}"].add(node["__loader__"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _refusal(name: str, loaders: set[str], prefixes: tuple[str, ...]) -> str | None:
    module, _, attribute = name.rpartition(".")
    if not module or not _within(module, prefixes):
        return "its module is not on the allow-list"
    try:
        obj = getattr(importlib.import_module(module), attribute)
    except Exception as exc:
        return f"it cannot be imported ({type(exc).__name__}: {exc})"
    home = getattr(obj, "__module__", None) or module
    if not isinstance(home, str) or not _within(home, prefixes):
        return f"it is {home}.{attribute}, re-exported from a module that is not on the allow-list"
    if isinstance(obj, type):
        if _CALLED_WITH_FILE_ARGUMENTS in loaders:
            return "the file would call it with arguments of its own"
        return None
    if module == "builtins" or home == "builtins":
        return "only classes are allowed from builtins"
    if callable(obj) and loaders and loaders <= _REFERENCE_LOADERS:
        return None
    return "it is not a class"


def check_untrusted_types(data: bytes, *, extra_modules: Iterable[str] = ()) -> list[str]:
    """The types in ``data`` that skops does not trust by default, all checked against the policy.

    Raises :class:`RefusedError` naming every type the policy does not allow.
    """
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    if not untrusted:
        return []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        loaders = _loaders_by_type(json.loads(archive.read("schema.json")))
    prefixes = _prefixes(extra_modules)
    refused = {name: reason for name in untrusted
               if (reason := _refusal(name, loaders.get(name, set()), prefixes)) is not None}
    if refused:
        details = "; ".join(f"{name}: {reason}" for name, reason in sorted(refused.items()))
        raise RefusedError(
            f"the object contains types outside shipyard's safe-loading allow-list ({details})",
            headline="unsafe type",
            hint="types from scikit-learn, LightGBM, XGBoost, NumPy, SciPy and shipyard are allowed, and so are "
                 "those defined in the modules of the spec's 'module:function' references (feature group "
                 "functions, user steps); define custom classes in such a module")
    return sorted(untrusted)


def _canonical_zip(data: bytes) -> bytes:
    """Make equal objects give equal bytes.

    skops names memo ids and array files after ``id()`` of objects in memory
    (byte blobs after random UUIDs) and stamps entries with the current time;
    renumber both in order of appearance, keep every reference consistent, keep
    the order of keys (dict key types are stored by position), and fix the
    time, the host system and the compression of every entry.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        names = set(source.namelist())
        schema = json.loads(source.read("schema.json"))
        ids: dict[int, int] = {}
        files: dict[str, str] = {}
        stack = [schema]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "__id__" and isinstance(value, int):
                        node[key] = ids.setdefault(value, len(ids) + 1)
                    elif key == "file" and isinstance(value, str) and value in names:
                        suffix = value.rsplit(".", 1)[-1] if "." in value else "bin"
                        node[key] = files.setdefault(value, f"{len(files) + 1}.{suffix}")
                    else:
                        stack.append(value)
            elif isinstance(node, list):
                stack.extend(node)
        entries = [("schema.json", json.dumps(schema, separators=(",", ":")).encode())]
        entries += [(renamed, source.read(original))
                    for original, renamed in sorted(files.items(), key=lambda item: int(item[1].split(".")[0]))]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.create_system = _UNIX
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED
            target.writestr(info, content)
    return out.getvalue()


def dumps_safe(obj, *, extra_modules: Iterable[str] = ()) -> tuple[bytes, list[str]]:
    """skops bytes, equal for equal objects, and the types they need trusted."""
    import skops.io as sio

    data = _canonical_zip(sio.dumps(obj))
    return data, check_untrusted_types(data, extra_modules=extra_modules)


def trusted_types_for(obj, *, extra_modules: Iterable[str] = ()) -> list[str]:
    return dumps_safe(obj, extra_modules=extra_modules)[1]


def loads_safe(data: bytes, *, extra_modules: Iterable[str] = ()):
    import skops.io as sio

    try:
        trusted = check_untrusted_types(data, extra_modules=extra_modules)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise RefusedError(f"the data is not a readable skops file ({type(exc).__name__}: {exc})",
                           headline="unreadable model file") from None
    return sio.loads(data, trusted=trusted)
