"""Drift computation at scale against Evidently's DataDriftPreset figures on the same shape.

    python benchmarks/drift.py [--rows 1000000]

Builds `rows` reference and `rows` current rows of 20 columns (15 numeric, 5
categorical; 4 numeric and 2 categorical shifted), then times shipyard's reference
profile plus drift computation, and reports the process's peak memory. Evidently
0.7.23 does not import next to pandas 3, so its figures on this machine class (from
a separate virtual environment, same shape) are printed beside ours.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

EVIDENTLY = {1_000_000: (95.8, 1600), 100_000: (6.5, None)}  # seconds, peak MB
SHIFTED = {"n0", "n1", "n2", "n3", "c0", "c1"}


def frame(rows: int, seed: int, shifted: bool) -> pd.DataFrame:
    """Numeric columns filled into one float block (no consolidation copy), categories as pandas categoricals."""
    rng = np.random.default_rng(seed)
    numeric = np.empty((rows, 15))
    for i in range(15):
        shift = 0.5 if shifted and f"n{i}" in SHIFTED else 0.0
        numeric[:, i] = rng.normal(i + shift, 1 + i / 10, rows) if i % 3 else rng.lognormal(1 + shift, 0.4, rows)
    data = pd.DataFrame(numeric, columns=[f"n{i}" for i in range(15)], copy=False)
    for i in range(5):
        categories = np.array([f"v{k}" for k in range(4 + 3 * i)])
        weights = np.linspace(1, 2, categories.size)
        if shifted and f"c{i}" in SHIFTED:
            weights = weights[::-1] ** 2
        data[f"c{i}"] = pd.Categorical.from_codes(rng.choice(categories.size, rows, p=weights / weights.sum()),
                                                  categories)
    return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from shipyard.monitoring.drift import dataset_drift
    from shipyard.monitoring.profile import build_profile
    from shipyard.spec.monitoring import MonitoringSpec

    reference, current = frame(args.rows, 0, False), frame(args.rows, 1, True)
    labels = np.where(reference.n1 > 1, "1", "0")
    started = time.perf_counter()
    profile = build_profile(reference, labels, task="classification")
    profiled = time.perf_counter()
    report = dataset_drift(profile, current, pd.Series(np.where(current.n1 > 1, "1", "0")), MonitoringSpec())
    finished = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    flagged = set(report["drifted"])
    assert flagged == SHIFTED, f"flagged {sorted(flagged)}, shifted {sorted(SHIFTED)}"
    evidently_s, evidently_mb = EVIDENTLY.get(args.rows, (None, None))
    total = finished - started
    print(f"{args.rows:,} reference + {args.rows:,} current rows, 20 columns (15 numeric, 5 categorical)")
    print(f"{'':<28}{'seconds':>10}{'peak MB':>10}")
    print(f"{'shipyard profile':<28}{profiled - started:>10.2f}")
    print(f"{'shipyard drift':<28}{finished - profiled:>10.2f}")
    print(f"{'shipyard total':<28}{total:>10.2f}{peak_mb:>10.0f}")
    if evidently_s:
        print(f"{'Evidently DataDriftPreset':<28}{evidently_s:>10.2f}{evidently_mb or float('nan'):>10.0f}")
        print(f"speed-up {evidently_s / total:.0f}x" + (f", memory {peak_mb / evidently_mb:.2f} of Evidently's"
                                                         if evidently_mb else ""))
    print(f"flagged exactly the shifted columns: {', '.join(sorted(flagged))}; dataset severity {report['severity']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
