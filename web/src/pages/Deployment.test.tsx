import { screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { DeploymentDetail, Permissions } from "../api/types";
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

describe("the deployment page", () => {
  it("moves the canary share input when the share changes elsewhere", async () => {
    let weight = 0.1;
    answerFetch({
      "/me": { body: ME },
      "/deployments/churny": () => ({ body: deployment(weight) }),
      "/models/churny/permissions": { body: PERMISSIONS },
      "/models/churny/versions": { body: { items: [], total: 0, offset: 0, limit: 500, next_offset: null } },
    });
    renderAt("/deployments/churny");
    const input = await screen.findByLabelText<HTMLInputElement>("canary share");
    expect(input.value).toBe("10");
    weight = 0.3;
    await waitFor(() => expect(screen.getByLabelText<HTMLInputElement>("canary share").value).toBe("30"), { timeout: 5000 });
  });
});
