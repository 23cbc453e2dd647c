import { screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { DeploymentDetail, Fleet, Permissions } from "../api/types";
import { ME, answerFetch, renderAt } from "../test/render";

function deployment(canaryWeight: number): DeploymentDetail {
  return {
    model: "churny", revision: canaryWeight * 100, routing_key: null, rollout: null, updated_at: "2026-11-30T10:00:00Z",
    updated_by: "ada", load_failures: [], arms: [
      { role: "stable", version: "1", weight: 1 - canaryWeight, share: 1 - canaryWeight },
      { role: "canary", version: "2", weight: canaryWeight, share: canaryWeight },
    ],
  };
}

const PERMISSIONS: Permissions = {
  model: "churny", team: "growth", identity: "ada", operations: {
    "traffic.set": { allowed: true, reason: null }, rollback: { allowed: true, reason: null },
    "deploy.canary": { allowed: true, reason: null }, "deploy.production": { allowed: true, reason: null },
    "lifecycle.approve": { allowed: true, reason: null },
  },
};

const VERSIONS = { items: [], total: 0, offset: 0, limit: 500, next_offset: null };

function fleet(requests: number, errors: number, p99: number): Fleet {
  return { model: "churny", fresh_s: 16, arms: [{ arm: "stable", version: "1", gateways: 2, requests, errors,
    error_rate: errors / requests, p99_ms: p99, window_s: 60, published_at: "2026-11-30T10:00:00Z" }] };
}

describe("the deployment page", () => {
  it("moves the canary share input when the share changes elsewhere", async () => {
    let weight = 0.1;
    answerFetch({
      "/me": { body: ME },
      "/deployments/churny": () => ({ body: deployment(weight) }),
      "/models/churny/permissions": { body: PERMISSIONS },
      "/models/churny/versions": { body: VERSIONS },
      "/deployments/churny/fleet": { body: { model: "churny", fresh_s: 16, arms: [] } },
    });
    renderAt("/deployments/churny");
    const input = await screen.findByLabelText<HTMLInputElement>("canary share");
    expect(input.value).toBe("10");
    weight = 0.3;
    await waitFor(() => expect(screen.getByLabelText<HTMLInputElement>("canary share").value).toBe("30"), { timeout: 5000 });
  });

  it("shows the fleet's live service levels and follows them", async () => {
    let figures = fleet(150, 3, 10.5);
    answerFetch({
      "/me": { body: ME },
      "/deployments/churny": { body: deployment(0.1) },
      "/models/churny/permissions": { body: PERMISSIONS },
      "/models/churny/versions": { body: VERSIONS },
      "/deployments/churny/fleet": () => ({ body: figures }),
    });
    renderAt("/deployments/churny");
    const live = await screen.findByRole("region", { name: "live service levels" });
    const row = await within(live).findByRole("row", { name: /stable/ });
    expect(row).toHaveTextContent("150");
    expect(row).toHaveTextContent("2%");
    expect(row).toHaveTextContent("10.5 ms");
    figures = fleet(400, 40, 250);
    await waitFor(() => expect(within(live).getByRole("row", { name: /stable/ })).toHaveTextContent("250.0 ms"), { timeout: 5000 });
    expect(within(live).getByRole("row", { name: /stable/ })).toHaveTextContent("10%");
  });
});
