"""Promotion gates. Each returns ``GateResult``s with the measured value, the threshold and why."""

from __future__ import annotations

import json
import math
import operator
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from shipyard.spec.metrics import metric
from shipyard.spec.promotion import ChampionGate, PerformanceBudget, SliceGuard, parse_rule

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_SIGNS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


@dataclass(frozen=True, kw_only=True)
class GateResult:
    gate: str
    name: str
    passed: bool
    measured: Any = None
    threshold: Any = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def shown(*values: float) -> list[str]:
    """The values with four significant digits of the largest, and more where needed to tell them apart."""
    largest = max((abs(v) for v in values if v), default=1.0)
    decimals = max(0, 3 - math.floor(math.log10(largest)))
    for extra in range(7):
        texts = [f"{v:.{decimals + extra}f}" for v in values]
        if len(set(texts)) == len(set(values)):
            break
    return texts


def threshold_gates(rules: list[str], metrics: dict[str, float | None]) -> list[GateResult]:
    results = []
    for rule in rules:
        name, op, bound = parse_rule(rule)
        value = metrics.get(name)
        known = metric(name)
        details = {"rule": rule, "metric": name, "direction": known.direction if known else None}
        limit = f"{_SIGNS[op]} {bound:g}"
        if value is None:
            computed = ", ".join(sorted(k for k, v in metrics.items() if v is not None))
            results.append(GateResult(gate="threshold", name=f"{name} was not computed, so '{rule}' cannot hold",
                                      passed=False, threshold=bound, details=details,
                                      reason=f"metric '{name}' was not computed on the holdout data; "
                                             f"computed: {computed}"))
            continue
        passed = _OPS[op](value, bound)
        verdict = "meets" if passed else "fails"
        better = f"; {known.better} {name} is better" if known else ""
        results.append(GateResult(gate="threshold", name=f"{name} {shown(value)[0]} {verdict} the threshold {limit}",
                                  passed=passed, measured=value, threshold=bound, details=details,
                                  reason=f"rule '{rule}' on the holdout data{better}"))
    return results


def champion_gate(gate: ChampionGate, candidate: dict[str, Any], champion: dict[str, Any] | None,
                  champion_version: str | None) -> GateResult:
    """Both metric sets must come from scoring the same holdout rows (``evaluate_model`` on one frame)."""
    known = metric(gate.metric)
    direction = known.direction
    if champion is None:
        return GateResult(gate="champion", name=f"no champion to beat on {gate.metric}", passed=True,
                          reason="no version is in production yet: nothing to beat",
                          details={"direction": direction})
    ours, theirs = candidate["overall"].get(gate.metric), champion["overall"].get(gate.metric)
    if ours is None or theirs is None:
        return GateResult(gate="champion", name=f"could not compare with champion v{champion_version} on "
                                                f"{gate.metric}", passed=False,
                          reason=f"metric '{gate.metric}' is undefined on this holdout for "
                                 f"{'the candidate' if ours is None else 'the champion'}",
                          details={"champion_version": champion_version, "direction": direction})
    maximize = direction == "maximize"
    margin = gate.min_delta * abs(theirs) if gate.relative else gate.min_delta
    needed = theirs + margin if maximize else theirs - margin
    passed = ours >= needed if maximize else ours <= needed
    improvement = ours - theirs if maximize else theirs - ours
    a, b, need = shown(ours, theirs, needed)
    versus = f"champion v{champion_version} on {gate.metric}: {a} vs {b}"
    if passed:
        label = f"{'beat' if improvement > 0 else 'matched'} {versus}"
    else:
        label = f"did not beat {versus}, needs {'≥' if maximize else '≤'} {need}"
        if margin:
            step = f"{gate.min_delta * 100:g}%" if gate.relative else f"{abs(gate.min_delta):g}"
            label += f" ({b} {'+' if maximize == (margin > 0) else '−'} {step})"
    kind = "relative " if gate.relative else ""
    return GateResult(
        gate="champion", name=label, passed=passed,
        measured={"candidate": ours, "champion": theirs, "improvement": improvement}, threshold=margin,
        reason=(f"both scored on the same {candidate['n']} holdout rows; {known.better} {gate.metric} is better; "
                f"improvement {improvement:+.4g}, {kind}margin needed {margin:.4g}"),
        details={"champion_version": champion_version, "rows": candidate["n"], "direction": direction,
                 "needed": needed})


def slice_gates(guard: SliceGuard, candidate: dict[str, Any], champion: dict[str, Any] | None) -> list[GateResult]:
    if champion is None:
        return []
    known = metric(guard.metric)
    results = []
    for column, groups in candidate["slices"].items():
        for value, ours in groups.items():
            theirs = champion["slices"].get(column, {}).get(value)
            if not theirs or ours.get("n", 0) < guard.min_rows:
                continue
            a, b = ours.get(guard.metric), theirs.get(guard.metric)
            if a is None or b is None:
                continue
            worse_by = (b - a) if known.direction == "maximize" else (a - b)
            passed = worse_by <= guard.max_regression
            ours_text, theirs_text = shown(a, b)
            versus = f"{column}={value} {'held up' if passed else 'regressed'} on {guard.metric}: " \
                     f"{ours_text} vs champion {theirs_text}"
            results.append(GateResult(
                gate="slice", name=versus if passed else f"{versus}, worse by {shown(worse_by)[0]} "
                                                         f"(allowed {guard.max_regression:g})",
                passed=passed, measured={"candidate": a, "champion": b, "regression": worse_by},
                threshold=guard.max_regression,
                details={"column": column, "value": value, "rows": ours["n"], "direction": known.direction},
                reason=f"{ours['n']} holdout rows; {known.better} {guard.metric} is better; "
                       f"worse by {worse_by:+.4g} (allowed {guard.max_regression:g})"))
    return results


def _latencies(model, frame, repeats: int) -> tuple[float, float]:
    samples = []
    model.predict(frame)
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(frame)
        samples.append((time.perf_counter() - start) * 1000)
    quantiles = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), quantiles[98]


_LOAD_PROBE = """
import resource, sys
from shipyard.registry.trust import loads_safe
data = open(sys.argv[1], 'rb').read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
loads_safe(data, extra_modules=tuple(sys.argv[2:]))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


def load_memory_mb(model_file: str, extra_modules: tuple[str, ...]) -> float:
    """Peak resident memory added by loading the model, measured in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _LOAD_PROBE, model_file, *extra_modules],
                          capture_output=True, text=True, timeout=300, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def performance_gates(budget: PerformanceBudget, model, sample, *, size_bytes: int,
                      load_memory: float | None) -> list[GateResult]:
    results = []
    one, hundred = sample.head(1), sample.sample(n=100, replace=len(sample) < 100, random_state=0)
    p50_1, p99_1 = _latencies(model, one, budget.repeats)
    p50_100, p99_100 = _latencies(model, hundred, max(10, budget.repeats // 4))
    measured = {"p50_ms_batch1": p50_1, "p99_ms_batch1": p99_1, "p50_ms_batch100": p50_100,
                "p99_ms_batch100": p99_100, "max_size_mb": size_bytes / 1e6, "max_load_memory_mb": load_memory}
    for name, value in measured.items():
        limit = getattr(budget, name)
        if limit is None:
            continue
        if value is None:
            results.append(GateResult(gate="performance", name=name, passed=False, threshold=limit,
                                      reason=f"{name} could not be measured"))
            continue
        passed = value <= limit
        results.append(GateResult(gate="performance", name=name, passed=passed, measured=round(value, 3),
                                  threshold=limit, reason=f"{name} = {value:.3f} (budget {limit})"))
    return results


def schema_gate(candidate: dict[str, str], contract: dict[str, str] | None, source: str) -> GateResult:
    """Columns and types the candidate needs against what the serving contract provides."""
    if contract is None:
        return GateResult(gate="schema", name="schema contract", passed=True,
                          reason="no serving contract yet (no production version and no contract file)")
    removed = sorted(set(contract) - set(candidate))
    added = sorted(set(candidate) - set(contract))
    retyped = sorted(c for c in set(candidate) & set(contract) if candidate[c] != contract[c])
    diff = ([f"- {c} ({contract[c]}): removed" for c in removed] + [f"+ {c} ({candidate[c]}): not in the contract"
            for c in added] + [f"~ {c}: {contract[c]} → {candidate[c]}" for c in retyped])
    passed = not diff
    return GateResult(gate="schema", name=f"compatible with {source}", passed=passed,
                      measured={"removed": removed, "added": added, "retyped": retyped},
                      reason="inputs match the serving contract" if passed else "incompatible inputs:\n    "
                      + "\n    ".join(diff))


def signature_columns(signature_json: str | None) -> dict[str, str] | None:
    """``{column: type}`` from an MLflow signature's ``inputs`` JSON."""
    if not signature_json:
        return None
    inputs = json.loads(signature_json) if isinstance(signature_json, str) else signature_json
    return {col["name"]: col["type"] for col in inputs if "name" in col}
