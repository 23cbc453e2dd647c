import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { Run } from "../api/types";
import { ME, TEAMS, answerFetch, renderAt } from "../test/render";
import { CHUNK } from "./Runs";

const TOTAL = 10_000;

function run(index: number): Run {
  return {
    id: `run${String(index).padStart(9, "0")}`, pipeline: `pipe-${index}`, status: index % 2 ? "failed" : "succeeded",
    spec_path: null, spec_digest: "f".repeat(64), created_at: "2026-11-30T10:00:00Z", started_at: null, finished_at: null,
    options: {}, error: null, result: null, mlflow_run_id: null, model_name: null, model_version: null, started_by: "ada",
    resume_command: null, queue_position: null,
  };
}

describe("the runs page", () => {
  it("scrolls 10,000 runs, fetching only the chunks in view", async () => {
    // jsdom lays nothing out: give every element the size of a window, as a browser would the list.
    vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockReturnValue(600);
    vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(1000);
    const { calls } = answerFetch({
      "/me": { body: ME },
      "/teams": { body: TEAMS },
      "/runs": (url) => {
        const offset = Number(url.searchParams.get("offset"));
        const limit = Number(url.searchParams.get("limit"));
        const items = Array.from({ length: Math.min(limit, TOTAL - offset) }, (_, i) => run(offset + i));
        return { body: { items, total: TOTAL, offset, limit, next_offset: offset + limit < TOTAL ? offset + limit : null } };
      },
    });
    renderAt("/runs?team=growth&sort=-created_at");
    expect(await screen.findByText("pipe-0")).toBeInTheDocument();
    expect(screen.getByText(`${TOTAL} runs`)).toBeInTheDocument();
    expect(screen.getAllByRole("row").length).toBeLessThan(60);
    const table = screen.getByRole("table", { name: "runs" });
    table.scrollTop = 34 * 5_000;
    fireEvent.scroll(table);
    expect(await screen.findByText("pipe-5000")).toBeInTheDocument();
    const runCalls = calls.filter((url) => url.pathname === "/api/v1/runs");
    expect(runCalls.every((url) => Number(url.searchParams.get("limit")) === CHUNK)).toBe(true);
    expect(runCalls.every((url) => url.searchParams.get("team") === "growth")).toBe(true);
    expect(runCalls.map((url) => Number(url.searchParams.get("offset")))).toContain(5_000 - (5_000 % CHUNK));
    expect(runCalls.length).toBeLessThan(6);
  });

  it("puts a filter into the URL and asks the API with it", async () => {
    const { calls } = answerFetch({
      "/me": { body: ME },
      "/teams": { body: TEAMS },
      "/runs": { body: { items: [], total: 0, offset: 0, limit: CHUNK, next_offset: null } },
    });
    renderAt("/runs");
    expect(await screen.findByText("No run matches these filters.")).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "failed" } });
    await waitFor(() => expect(calls.some((url) => url.searchParams.get("status") === "failed")).toBe(true));
  });
});
