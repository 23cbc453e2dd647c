"""Promotion gates. Each returns ``GateResult``s with the measured value, the threshold and why."""

from __future__ import annotations

import json
import math
import operator
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from shipyard.registry import latency
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


_LATENCY_BUDGETS = {"p50_ms_batch1": ("batch1", 0.5), "p99_ms_batch1": ("batch1", 0.99),
                    "p50_ms_batch100": ("batch100", 0.5), "p99_ms_batch100": ("batch100", 0.99)}


def performance_gates(budget: PerformanceBudget, model, sample, *, size_bytes: int, load_memory: float | None,
                      champion=None, champion_version: str | None = None) -> list[GateResult]:
    """``champion`` (the production model) is measured too, interleaved, when the budget has a ratio to it."""
    wanted = [name for name in _LATENCY_BUDGETS if getattr(budget, name) is not None]
    results = latency_gates(budget, model, sample, wanted, champion=champion, champion_version=champion_version) \
        if wanted or budget.max_ratio_to_champion is not None else []
    for name, value, unit in (("max_size_mb", size_bytes / 1e6, "MB"), ("max_load_memory_mb", load_memory, "MB")):
        limit = getattr(budget, name)
        if limit is None:
            continue
        if value is None:
            results.append(GateResult(gate="performance", name=f"{name} could not be measured", passed=False,
                                      threshold=limit, reason=f"{name} could not be measured",
                                      details={"budget": name}))
            continue
        passed = value <= limit
        results.append(GateResult(gate="performance", passed=passed, measured=round(value, 3), threshold=limit,
                                  name=f"{name} {value:.3f} {unit} {'within' if passed else 'over'} the "
                                       f"{limit:g} {unit} budget",
                                  reason=f"{name} = {value:.3f} {unit} (budget {limit:g} {unit})",
                                  details={"budget": name}))
    return results


def latency_gates(budget: PerformanceBudget, model, sample, names: list[str], *, champion=None,
                  champion_version: str | None = None) -> list[GateResult]:
    """Each latency budget judged on a measurement that other processes' load does not move."""
    frames = {"batch1": sample.head(1),
              "batch100": sample.sample(n=100, replace=len(sample) < 100, random_state=0)}
    calls = {"batch1": budget.repeats, "batch100": max(10, budget.repeats // 4)}
    compare = budget.max_ratio_to_champion is not None
    needed = sorted({_LATENCY_BUDGETS[name][0] for name in names} | ({"batch1"} if compare else set()))
    workloads = [latency.Workload(name=w, call=lambda frame=frames[w]: model.predict(frame), calls=calls[w])
                 for w in needed]
    champion_frame = _champion_frame(champion, sample) if compare else None
    if champion_frame is not None:
        workloads.append(latency.Workload(name="champion", call=lambda: champion.predict(champion_frame),
                                          calls=calls["batch1"]))
    measured = latency.measure(workloads, rounds=budget.rounds, max_seconds=budget.max_seconds)
    clock = budget.clock if budget.clock != "service" or measured.service_clock else "wall"
    results = [_latency_result(name, getattr(budget, name), budget, measured, clock) for name in names]
    if compare:
        results.append(_ratio_result(budget, measured, clock, champion_version, champion is not None))
    return results


def _champion_frame(champion, sample):
    """The candidate's first holdout row in the champion's inputs; None when it has none or they are not there."""
    if champion is None:
        return None
    columns = list(getattr(champion, "feature_names_in_", sample.columns))
    return sample.head(1)[columns] if set(columns) <= set(sample.columns) else None


def _clocks_note(clock: str, budget: PerformanceBudget) -> str:
    if clock == budget.clock:
        return f"{clock} time"
    return f"{clock} time (service time needs the run-queue delay that only Linux reports, so wall time was judged)"


def _latency_result(name: str, limit: float, budget: PerformanceBudget, measured: latency.Measurement,
                    clock: str) -> GateResult:
    workload, quantile = _LATENCY_BUDGETS[name]
    estimate = measured.estimate(workload, clock, quantile)
    ceiling = limit * (1 + budget.tolerance)
    passed = estimate.low <= ceiling
    value, low, high, q1, q3 = shown(estimate.value, estimate.low, estimate.high, estimate.round_low,
                                     estimate.round_high)
    verdict = "over" if not passed else "within" if estimate.value <= limit else "within the noise of"
    samples = measured.samples[workload]
    others = {c: measured.pooled(workload, c, quantile) for c in latency.CLOCKS}
    reason = (f"{_clocks_note(clock, budget)}: {value} ms over {samples.calls} calls in {samples.round_count} "
              f"interleaved rounds ({measured.seconds:.1f} s); {latency.CONFIDENCE:.0%} CI {low}–{high} ms, "
              f"rounds' IQR {q1}–{q3} ms; wall {others['wall']:.2f} ms, service {others['service']:.2f} ms, "
              f"CPU {others['cpu']:.2f} ms; fails only when the whole CI is above {ceiling:g} ms "
              f"(budget {limit:g} ms + {budget.tolerance:.0%} tolerance)")
    details = {"budget": name, "clock": clock, "quantile": quantile, "calls": samples.calls,
               "rounds": samples.round_count, "seconds": round(measured.seconds, 3), "confidence": latency.CONFIDENCE,
               "tolerance": budget.tolerance, "fails_above": ceiling, **estimate.to_dict(),
               **{f"{c}_ms": round(v, 3) for c, v in others.items()}}
    return GateResult(gate="performance", name=f"{name} {value} ms {verdict} the {limit:g} ms budget",
                      passed=passed, measured=round(estimate.value, 3), threshold=limit, reason=reason,
                      details=details)


def _ratio_result(budget: PerformanceBudget, measured: latency.Measurement, clock: str,
                  champion_version: str | None, had_champion: bool) -> GateResult:
    limit = budget.max_ratio_to_champion
    details = {"budget": "max_ratio_to_champion", "champion_version": champion_version, "clock": clock}
    if "champion" not in measured.samples:
        why = ("no version is in production yet: nothing to compare with" if not had_champion else
               f"champion v{champion_version}'s inputs are not all in this version's holdout data")
        return GateResult(gate="performance", name="no champion latency to compare with", passed=True,
                          threshold=limit, reason=why, details=details)
    ratio = measured.ratio("batch1", "champion", clock, 0.99)
    ceiling = limit * (1 + budget.tolerance)
    passed = ratio.low <= ceiling
    ours, theirs = measured.pooled("batch1", clock, 0.99), measured.pooled("champion", clock, 0.99)
    value, low, high = shown(ratio.value, ratio.low, ratio.high)
    verdict = "within" if passed else "over"
    return GateResult(
        gate="performance", passed=passed, measured=round(ratio.value, 3), threshold=limit,
        name=f"p99 at batch 1 {value}× champion v{champion_version}'s, {verdict} the allowed {limit:g}×",
        reason=(f"{_clocks_note(clock, budget)}, both measured in the same {measured.samples['champion'].round_count}"
                f" rounds: {ours:.2f} ms vs {theirs:.2f} ms; {latency.CONFIDENCE:.0%} CI {low}–{high}×; fails only "
                f"when the whole CI is above {ceiling:g}× ({limit:g}× + {budget.tolerance:.0%} tolerance)"),
        details={**details, **ratio.to_dict(), "candidate_ms": round(ours, 3), "champion_ms": round(theirs, 3),
                 "fails_above": ceiling})


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
