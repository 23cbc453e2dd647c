import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ME, TEAMS, answerFetch, renderAt } from "../test/render";

const MODEL = {
  name: "churny", team: "growth", description: null, tags: {}, inputs: ["x1"], output: "y", slo: null, versions: 3,
  latest_version: "3", production_version: "2", stable_version: "2", states: { production: 1 }, updated_at: null,
  drift_severity: "warning", drift_checked_at: null,
};

describe("the overview", () => {
  it("shows the team's models, rollouts, runs of the week, quota and queue", async () => {
    const { calls } = answerFetch({
      "/me": { body: ME },
      "/teams": { body: TEAMS },
      "/models": { body: { items: [MODEL], total: 1, offset: 0, limit: 500, next_offset: null } },
      "/deployments": { body: { items: [{ model: "churny", revision: 4, arms: [], routing_key: null, rollout: { phase: "canary", version: "3", step: 1 }, updated_at: null, updated_by: null, load_failures: [] }], total: 1, offset: 0, limit: 500, next_offset: null } },
      "/runs": (url) => ({ body: { items: [], total: { succeeded: 12, failed: 3, queued: 1 }[url.searchParams.get("status") ?? ""] ?? 0, offset: 0, limit: 1, next_offset: null } }),
      "/queue": { body: { items: [{ run_id: "r1", pipeline: "churny", team: "growth", position: 1, request: { cpu: 1, memory: 0, gpus: 1, sweep_trials: 0 }, enqueued_at: "2026-11-30T10:00:00Z", reason: "team growth is at its quota (1 of 1 GPUs in use; this run needs 1)" }], total: 1, offset: 0, limit: 500, next_offset: null } },
      "/teams/growth/quota": { body: { team: "growth", source: "/etc/quotas.toml", limits: { runs: 2, cpu: null, memory: 34359738368, gpus: 1, sweep_trials: null }, used: { runs: 1, cpu: 2, memory: 1073741824, gpus: 1, sweep_trials: 0 }, queued: 1 } },
    });
    renderAt("/");
    expect(await screen.findByRole("heading", { name: "Overview — growth" })).toBeInTheDocument();
    const models = await screen.findByRole("region", { name: "models" });
    const row = within(models).getByRole("row", { name: /churny/ });
    expect(row).toHaveTextContent("v2");
    expect(row).toHaveTextContent("canary");
    expect(row).toHaveTextContent("warning");
    const week = screen.getByRole("region", { name: "runs in the last week" });
    expect(await within(week).findByText("12")).toBeInTheDocument();
    expect(within(week).getByText("3")).toBeInTheDocument();
    const quota = screen.getByRole("region", { name: "quota use" });
    expect(await within(quota).findByText(/GPUs:/)).toHaveTextContent("GPUs: 1 of 1");
    expect(within(quota).getByText(/memory:/)).toHaveTextContent("memory: 1 GiB of 32 GiB");
    expect(await screen.findByText(/1 of 1 GPUs in use/)).toBeInTheDocument();
    const weekCalls = calls.filter((url) => url.pathname === "/api/v1/runs");
    expect(weekCalls.every((url) => url.searchParams.get("team") === "growth" && url.searchParams.get("since"))).toBe(true);
  });
});
