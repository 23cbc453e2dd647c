import { fireEvent, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { TOKEN_KEY } from "../auth/session";
import { ME, TEAMS, answerFetch, renderAt } from "../test/render";

describe("the sign-in page", () => {
  it("keeps a token the server accepts and opens the page asked for", async () => {
    answerFetch({
      "/me": (_url, init) => ((init?.headers as Record<string, string>)?.Authorization === "Bearer shy_good"
        ? { body: ME } : { status: 401, body: { title: "unauthenticated", detail: "this route needs a token" } }),
      "/auth": { body: { tokens: true, oidc: null } },
      "/teams": { body: TEAMS },
      "/audit": { body: { items: [], total: 0, offset: 0, limit: 50, next_offset: null } },
      "/audit/verify": { body: { ok: true, events: 0, first_bad_seq: null, problem: null, first_seq: null, head_seq: null, anchored: false, checkpoints: 0, anchored_through: null, unanchored_events: 0, summary: "0 events, chain intact" } },
    });
    renderAt("/audit", { token: null });
    fireEvent.change(await screen.findByLabelText("API token"), { target: { value: " shy_good " } });
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Audit log" })).toBeInTheDocument();
    expect(window.sessionStorage.getItem(TOKEN_KEY)).toBe("shy_good");
    expect(await screen.findByText("0 events, chain intact")).toBeInTheDocument();
  });

  it("refuses a token the server refuses, with its reason", async () => {
    answerFetch({
      "/me": { status: 401, body: { title: "invalid token", detail: "no such token", hint: "check that you pasted all of it" } },
      "/auth": { body: { tokens: true, oidc: { issuer: "https://login.example.com", audience: "shipyard" } } },
    });
    renderAt("/", { token: null });
    fireEvent.change(await screen.findByLabelText("API token"), { target: { value: "shy_wrong" } });
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("no such token");
    expect(alert).toHaveTextContent("check that you pasted all of it");
    expect(window.sessionStorage.getItem(TOKEN_KEY)).toBeNull();
    expect(screen.getByRole("link", { name: "Open https://login.example.com" })).toHaveAttribute("href", "https://login.example.com");
  });
});
