"""Predict latency measured so that other processes' load does not decide a verdict.

Several workloads (batch sizes, or a candidate and its champion) are measured call by
call in interleaved rounds, so that each sees the same machine. Every call records
three clocks:

- ``wall``: what a caller waits, on this machine as loaded right now;
- ``service``: wall time minus the time the measuring thread spent runnable but waiting
  for a CPU (the kernel's run-queue delay, ``/proc/.../schedstat``): the latency the
  model would have with a CPU to itself. The model's own computing, sleeping and I/O
  stay in it; what other processes take does not. Without schedstat (not Linux) it is
  the wall time.
- ``cpu``: CPU time of the whole process (every thread) during the call.

A quantile is estimated from all calls pooled, with a percentile bootstrap over rounds
for its confidence interval: a burst of load that spoils one round widens the interval
rather than moving the verdict.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

CLOCKS = ("service", "wall", "cpu")
CONFIDENCE = 0.90
_BOOTSTRAP_RESAMPLES = 1000
_MIN_WARMUP_CALLS = 3


class _RunQueueDelay:
    """Milliseconds the calling thread has waited for a CPU so far; always 0 where the kernel does not say."""

    def __init__(self) -> None:
        self._fd: int | None = None
        try:
            self._fd = os.open(f"/proc/self/task/{threading.get_native_id()}/schedstat", os.O_RDONLY)
            self()
        except (OSError, ValueError, IndexError):
            self.close()

    @property
    def available(self) -> bool:
        return self._fd is not None

    def __call__(self) -> float:
        if self._fd is None:
            return 0.0
        return int(os.pread(self._fd, 128, 0).split()[1]) / 1e6

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass(frozen=True, kw_only=True)
class Workload:
    name: str
    call: Callable[[], object]
    calls: int


@dataclass(frozen=True)
class Samples:
    """One workload's calls, per clock, grouped by round (milliseconds)."""

    rounds: dict[str, list[np.ndarray]]

    @property
    def calls(self) -> int:
        return sum(len(r) for r in self.rounds["wall"])

    @property
    def round_count(self) -> int:
        return len(self.rounds["wall"])


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """A quantile (or a ratio of two): pooled estimate, its bootstrap interval, and the spread between rounds."""

    value: float
    low: float
    high: float
    round_low: float
    round_high: float

    def to_dict(self) -> dict[str, float]:
        return {"value": round(self.value, 3), "ci_low": round(self.low, 3), "ci_high": round(self.high, 3),
                "round_q1": round(self.round_low, 3), "round_q3": round(self.round_high, 3)}


@dataclass(frozen=True, kw_only=True)
class Measurement:
    samples: dict[str, Samples]
    service_clock: bool
    seconds: float

    def estimate(self, workload: str, clock: str, quantile: float) -> Estimate:
        return estimate_quantile(self.samples[workload].rounds[clock], quantile)

    def pooled(self, workload: str, clock: str, quantile: float) -> float:
        return _pooled(self.samples[workload].rounds[clock], quantile)

    def ratio(self, ours: str, theirs: str, clock: str, quantile: float) -> Estimate:
        return estimate_ratio(self.samples[ours].rounds[clock], self.samples[theirs].rounds[clock], quantile)


def estimate_quantile(rounds: list[np.ndarray], quantile: float, *, seed: int = 0) -> Estimate:
    """The quantile of all calls pooled, a bootstrap CI resampling whole rounds, and the rounds' IQR."""
    return _estimate([rounds], lambda picked: _pooled(picked[0], quantile), seed=seed)


def estimate_ratio(ours: list[np.ndarray], theirs: list[np.ndarray], quantile: float, *,
                   seed: int = 0) -> Estimate:
    """Our quantile over theirs, for two workloads measured in the same rounds; rounds are resampled in pairs."""
    return _estimate([ours, theirs], lambda picked: _pooled(picked[0], quantile) / _pooled(picked[1], quantile),
                     seed=seed)


def _pooled(rounds: list[np.ndarray], quantile: float) -> float:
    return float(np.quantile(np.concatenate(rounds), quantile))


def _estimate(series: list[list[np.ndarray]], statistic: Callable[[list[list[np.ndarray]]], float], *,
              seed: int) -> Estimate:
    count = len(series[0])
    value = statistic(series)
    per_round = [statistic([[s[i]] for s in series]) for i in range(count)]
    q1, q3 = (float(v) for v in np.quantile(per_round, [0.25, 0.75]))
    if count < 2:
        return Estimate(value=value, low=value, high=value, round_low=q1, round_high=q3)
    picks = np.random.default_rng(seed).integers(0, count, size=(_BOOTSTRAP_RESAMPLES, count))
    resampled = [statistic([[s[i] for i in pick] for s in series]) for pick in picks]
    tail = (1 - CONFIDENCE) / 2
    low, high = (float(v) for v in np.quantile(resampled, [tail, 1 - tail]))
    return Estimate(value=value, low=min(low, value), high=max(high, value), round_low=q1, round_high=q3)


def measure(workloads: list[Workload], *, rounds: int, max_seconds: float) -> Measurement:
    """Warm every workload up, then call them interleaved, round after round, within ``max_seconds``.

    Warm-up takes at most a tenth of the time and tells what a call costs; when the planned
    calls would not fit the time left, each round gets proportionally fewer, so that every
    round still runs. Time running out stops measuring even inside a round; every workload
    gets at least one measured call.
    """
    start = time.perf_counter()
    deadline = start + max_seconds
    costs = _warm_up(workloads, until=start + max_seconds / 10)
    per_round = [max(1, -(-w.calls // rounds)) for w in workloads]
    planned = rounds * sum(n * cost for n, cost in zip(per_round, costs, strict=True))
    room = 0.9 * (deadline - time.perf_counter())
    if planned > room:
        per_round = [max(1, int(n * room / planned)) for n in per_round]
    waited = _RunQueueDelay()
    collected = {w.name: {clock: [] for clock in CLOCKS} for w in workloads}
    try:
        for index in range(rounds):
            round_samples = {w.name: {clock: [] for clock in CLOCKS} for w in workloads}
            for step in range(max(per_round)):
                for workload, count in zip(workloads, per_round, strict=True):
                    if step >= count:
                        continue
                    # The wall clock brackets the run-queue readings, so every wait subtracted lies inside it.
                    w0 = time.perf_counter()
                    q0, c0 = waited(), time.process_time()
                    workload.call()
                    c1, q1 = time.process_time(), waited()
                    w1 = time.perf_counter()
                    wall = (w1 - w0) * 1000
                    into = round_samples[workload.name]
                    into["wall"].append(wall)
                    into["cpu"].append((c1 - c0) * 1000)
                    into["service"].append(wall - min(max(q1 - q0, 0.0), wall))
                if time.perf_counter() > deadline and (index or step):
                    break
            for name, clocks in round_samples.items():
                for clock, values in clocks.items():
                    collected[name][clock].append(np.array(values))
            if time.perf_counter() > deadline:
                break
    finally:
        available = waited.available
        waited.close()
    return Measurement(samples={name: Samples(rounds=clocks) for name, clocks in collected.items()},
                       service_clock=available, seconds=time.perf_counter() - start)


def _warm_up(workloads: list[Workload], *, until: float) -> list[float]:
    """Call each workload a few times (at least once); the median seconds per call of each."""
    costs = []
    for workload in workloads:
        durations: list[float] = []
        while len(durations) < _MIN_WARMUP_CALLS and (not durations or time.perf_counter() < until):
            began = time.perf_counter()
            workload.call()
            durations.append(time.perf_counter() - began)
        costs.append(float(np.median(durations)))
    return costs
