"""Problems found in a spec that loaded fine, each shown at the file:line:col of the key it is about.

The loader reports what the YAML alone gets wrong; checks that look further (at the
data, the estimator, the user's modules) report here, in the same one-line-per-problem form.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.errors import ShipyardError, SpecError
from shipyard.spec._messages import key_path
from shipyard.spec._yaml import KeyPath, read_yaml


@dataclass(frozen=True, kw_only=True)
class Finding:
    path: KeyPath
    """Where in the spec, e.g. ``("features", 0, "columns", 1)``."""
    message: str
    hint: str | None = None
    at_key: bool = False
    """Point at the key rather than its value (an unknown parameter name, an expectation's column)."""
    kind: type[ShipyardError] = SpecError
    """The error this finding raises on its own: a spec, data or user-code problem."""


def findings_error(findings: list[Finding], *, text: str, source: str) -> ShipyardError:
    """One error listing every finding by position; of the findings' kind when they share one.

    A hint shared by several findings is shown once, under the first of them.
    """
    _, positions = read_yaml(text, source)

    def where(finding: Finding) -> tuple[int, int]:
        if finding.at_key or not positions.is_scalar(finding.path):
            return positions.key(finding.path)
        return positions.value(finding.path)

    located = sorted(((where(f), f) for f in findings), key=lambda pair: pair[0])
    lines = [(f"{source}:{line}:{column}: {key_path(f.path)}: {f.message}", f.hint) for (line, column), f in located]
    kinds = {f.kind for f in findings}
    kind = kinds.pop() if len(kinds) == 1 else SpecError
    if len(lines) == 1:
        return kind(lines[0][0], hint=lines[0][1])
    body, hinted = [f"{len(lines)} problems in {source}:"], set()
    for line, hint in lines:
        body.append(f"  {line}")
        if hint and hint not in hinted:
            body.append(f"      hint: {hint}")
            hinted.add(hint)
    return kind("\n".join(body), hint="fix each one; `shipyard validate` checks them all without running anything")
