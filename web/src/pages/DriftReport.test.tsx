import { describe, expect, it } from "vitest";
import type { FeatureDrift } from "../api/types";
import { distribution, rankFeatures } from "./DriftReport";

const base = { method: "psi+wasserstein", rows: 100, null_rate: 0, reference_null_rate: 0 };

describe("a drift report's features", () => {
  it("rank by severity, then by PSI", () => {
    const ranked = rankFeatures({
      age: { ...base, kind: "numeric", severity: "ok", psi: 0.01 },
      plan: { ...base, kind: "categorical", severity: "critical", psi: 0.3 },
      charges: { ...base, kind: "numeric", severity: "critical", psi: 1.7 },
      calls: { ...base, kind: "numeric", severity: "warning", psi: 0.12 },
    } as Record<string, FeatureDrift>);
    expect(ranked.map(([name]) => name)).toEqual(["charges", "plan", "calls", "age"]);
  });

  it("draw a numeric feature's bins as shares, the outer bins open-ended", () => {
    const rows = distribution({ ...base, kind: "numeric", severity: "warning", cuts: [10, 20],
      reference_bins: [1, 2, 1], current_bins: [0, 1, 3] } as FeatureDrift);
    expect(rows).toEqual([
      { bin: "< 10", reference: 0.25, current: 0 },
      { bin: "10–20", reference: 0.5, current: 0.25 },
      { bin: "≥ 20", reference: 0.25, current: 0.75 },
    ]);
  });

  it("draw a categorical feature's categories, the other and unseen buckets only when they hold values", () => {
    const rows = distribution({ ...base, kind: "categorical", severity: "critical", categories: ["basic", "premium"],
      reference_counts: [3, 1, 0, 0], current_counts: [1, 1, 0, 2] } as FeatureDrift);
    expect(rows.map((row) => row.bin)).toEqual(["basic", "premium", "(unseen)"]);
    expect(rows[2]).toEqual({ bin: "(unseen)", reference: 0, current: 0.5 });
  });
});
