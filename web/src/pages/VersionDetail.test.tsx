import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { VersionDetail } from "../api/types";
import { ME, answerFetch, renderAt } from "../test/render";

const VERSION: VersionDetail = {
  model: "churny", version: "4", state: "candidate", approval: "none", approved_by: null, was_production: false,
  synced: true, updated_at: "2026-11-30T10:00:00Z", reason: null, history: [], gated: false,
};
const GATES = { model: "churny", version: "4", passed: true, outcome: "staging", results: [
  { gate: "threshold", name: "roc_auc >= 0.5", passed: true, measured: 0.8, threshold: 0.5, reason: "0.8 >= 0.5" }] };

describe("the version page", () => {
  it("does not ask for the gate results of a version that has none", async () => {
    const { calls } = answerFetch({ "/me": { body: ME }, "/models/churny/versions/4": { body: VERSION } });
    renderAt("/models/churny/versions/4");
    const gates = await screen.findByRole("region", { name: "gates" });
    expect(gates).toHaveTextContent("No gate results yet");
    expect(calls.some((url) => url.pathname.endsWith("/gates"))).toBe(false);
  });

  it("shows the gate results of a gated version", async () => {
    answerFetch({
      "/me": { body: ME }, "/models/churny/versions/4": { body: { ...VERSION, gated: true } },
      "/models/churny/versions/4/gates": { body: GATES },
    });
    renderAt("/models/churny/versions/4");
    const gates = await screen.findByRole("region", { name: "gates" });
    expect(await within(gates).findByRole("row", { name: /roc_auc >= 0.5/ })).toHaveTextContent("passed");
  });
});
