"""Cache keys: a step's kind, parameters, input digests and the code it runs."""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from shipyard.errors import SpecError
from shipyard.pipeline.dag import StepNode
from shipyard.pipeline.serialization import canonical_json

_LIBRARIES = ("numpy", "pandas", "pyarrow", "scikit-learn", "lightgbm", "xgboost", "optuna", "skops")


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str | None]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@lru_cache(maxsize=256)
def module_source_digest(module: str) -> str:
    """SHA-256 of a module's source file, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        raise SpecError(f"cannot find module '{module}': {exc}",
                        hint="put the module next to the pipeline YAML or install it") from None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        raise SpecError(f"cannot find module '{module}'",
                        hint="put the module next to the pipeline YAML or install it")
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()


@lru_cache(maxsize=1)
def shipyard_source_digest() -> str:
    """One digest over shipyard's own source, so an upgrade invalidates built-in steps."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_digests(node: StepNode) -> dict[str, str]:
    modules = {ref.partition(":")[0] for ref in node.code_refs}
    if node.user_code:
        modules.add(node.impl.partition(":")[0])
    digests = {module: module_source_digest(module) for module in sorted(modules)}
    digests["shipyard"] = shipyard_source_digest()
    return digests


def cache_key(node: StepNode, input_refs: dict[str, dict[str, str]]) -> str:
    material = {
        "kind": node.kind,
        "impl": node.impl,
        "params": node.params,
        "inputs": {arg: ref["digest"] for arg, ref in sorted(input_refs.items())},
        "outputs": list(node.outputs),
        "code": code_digests(node),
        "libraries": library_versions(),
    }
    return hashlib.sha256(canonical_json(material)).hexdigest()
