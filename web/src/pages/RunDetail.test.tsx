import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { RunDetail, Step } from "../api/types";
import { ME, answerFetch, renderAt } from "../test/render";

function step(name: string, position: number, state: string, upstream: string[], extra: Partial<Step> = {}): Step {
  return {
    name, kind: name, position, state, cache_key: "c".repeat(64), cache_hit: false, attempts: 1, started_at: null,
    finished_at: null, duration_s: 1.5, error: null, outputs: {}, details: null, upstream, ...extra,
  };
}

const FAILED: RunDetail = {
  id: "abc123def456", pipeline: "churny", status: "failed", spec_path: "/p/pipeline.yaml", spec_digest: "f".repeat(64),
  created_at: "2026-11-30T10:00:00Z", started_at: "2026-11-30T10:00:01Z", finished_at: "2026-11-30T10:00:09Z",
  options: {}, error: "step train failed: ValueError: bad C", result: null, mlflow_run_id: null, model_name: null,
  model_version: null, started_by: "ada", resume_command: "shipyard run --resume abc123def456", queue_position: null,
  spec_text: "name: churny", steps: [
    step("ingest", 0, "succeeded", [], { cache_hit: true, outputs: { result: { digest: "d".repeat(64), format: "parquet" } } }),
    step("train", 1, "failed", ["ingest"], { attempts: 3, error: "Traceback (most recent call last):\nValueError: bad C" }),
  ],
};

describe("the run page", () => {
  it("shows a failed run's graph, its failed step's error and log, and the command that resumes it", async () => {
    const { calls } = answerFetch({
      "/me": { body: ME }, "/runs/abc123def456": { body: FAILED },
      "/runs/abc123def456/logs": { body: { run_id: "abc123def456", step: "train", size_bytes: 90_000, truncated: true,
        text: "fitting with C=-1\nTraceback (most recent call last):\nValueError: bad C\n" } },
    });
    renderAt("/runs/abc123def456");
    expect(await screen.findByRole("heading", { name: /Run abc123def456 of churny/ })).toBeInTheDocument();
    expect(screen.getByText("shipyard run --resume abc123def456")).toBeInTheDocument();
    const failedStep = screen.getByRole("region", { name: "step train" });
    expect(within(failedStep).getByLabelText("step error")).toHaveTextContent("ValueError: bad C");
    expect(await within(failedStep).findByLabelText("step log")).toHaveTextContent("fitting with C=-1");
    expect(within(failedStep).getByText(/88 KiB in all/)).toBeInTheDocument();
    const logCall = calls.find((url) => url.pathname.endsWith("/logs"));
    expect(logCall?.searchParams.get("step")).toBe("train");
    const steps = screen.getByRole("table", { name: "steps" });
    expect(within(steps).getByText("hit")).toBeInTheDocument();
    expect(within(steps).getByText("3")).toBeInTheDocument();
    expect(screen.getByLabelText("the run's steps as a graph")).toBeInTheDocument();
  });

  it("polls a running run until it finishes", async () => {
    let asked = 0;
    answerFetch({
      "/me": { body: ME },
      "/runs/abc123def456": () => {
        asked += 1;
        return asked < 2
          ? { body: { ...FAILED, status: "running", error: null, resume_command: null, steps: [step("ingest", 0, "running", [])] } }
          : { body: { ...FAILED, status: "succeeded", error: null, resume_command: null, steps: [step("ingest", 0, "succeeded", [])] } };
      },
    });
    renderAt("/runs/abc123def456");
    expect(await screen.findByText(/0 of 1 steps done/)).toBeInTheDocument();
    expect(await screen.findByText("succeeded", { selector: "h1 .state" }, { timeout: 10_000 })).toBeInTheDocument();
  });

  it("shows a finished sweep's trials, best marked", async () => {
    const swept = { ...FAILED, status: "succeeded", error: null, resume_command: null, steps: [step("sweep", 0, "succeeded", [])] };
    answerFetch({
      "/me": { body: ME },
      "/runs/abc123def456": { body: swept },
      "/runs/abc123def456/sweep": { body: {
        run_id: "abc123def456", step: "sweep", metric: "roc_auc", direction: "maximize", best_trial: 1, best_value: 0.91,
        best_params: { C: 0.5 }, trials: [
          { number: 0, params: { C: 5 }, value: 0.8, state: "complete", duration_s: 0.2, intermediate: {} },
          { number: 1, params: { C: 0.5 }, value: 0.91, state: "complete", duration_s: 0.3, intermediate: {} },
          { number: 2, params: { C: 0.01 }, value: null, state: "pruned", duration_s: 0.1, intermediate: {} },
        ] } },
    });
    renderAt("/runs/abc123def456");
    const sweep = await screen.findByRole("region", { name: "sweep trials" });
    expect(within(sweep).getByRole("heading")).toHaveTextContent("best trial #1 = 0.9100");
    expect(within(sweep).getByRole("row", { name: /#1 ★/ })).toHaveTextContent("0.9100");
    expect(within(sweep).getByRole("row", { name: /#2/ })).toHaveTextContent("pruned");
  });
});
