import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { AuditEvent, Chain } from "../api/types";
import { ME, TEAMS, answerFetch, renderAt } from "../test/render";

const CHAIN: Chain = {
  ok: true, events: 2, first_bad_seq: null, problem: null, first_seq: 1, head_seq: 2, anchored: false, checkpoints: 0,
  anchored_through: null, unanchored_events: 0, summary: "2 events, chain intact",
};

function event(seq: number, model: string): AuditEvent {
  return {
    seq, time: "2026-11-30T10:00:00Z", actor: "ada", action: "registered", model, version: "1", from_state: null,
    to_state: "candidate", reason: null, details: {}, authenticated: true, prev_hash: "0".repeat(64), hash: "1".repeat(64),
  };
}

describe("the audit page", () => {
  it("filters the log by team through the API, and keeps the team in the URL", async () => {
    const { calls } = answerFetch({
      "/me": { body: ME },
      "/teams": { body: TEAMS },
      "/audit/verify": { body: CHAIN },
      "/audit": (url) => {
        const items = url.searchParams.get("team") === "growth" ? [event(2, "churny")] : [event(1, "fraudnet"), event(2, "churny")];
        return { body: { items, total: items.length, offset: 0, limit: 50, next_offset: null } };
      },
    });
    renderAt("/audit");
    expect(await screen.findByText("fraudnet v1")).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText("Team"), { target: { value: "growth" } });
    await waitFor(() => expect(screen.queryByText("fraudnet v1")).not.toBeInTheDocument());
    expect(screen.getByText("churny v1")).toBeInTheDocument();
    expect(calls.some((url) => url.pathname === "/api/v1/audit" && url.searchParams.get("team") === "growth")).toBe(true);
  });
});
