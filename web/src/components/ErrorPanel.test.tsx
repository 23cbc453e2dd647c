import { screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { TOKEN_KEY } from "../auth/session";
import { ME, TEAMS, answerFetch, renderAt } from "../test/render";

describe("error panels", () => {
  it("sends an expired token back to sign-in, saying why", async () => {
    answerFetch({
      "/me": { status: 401, body: { title: "token expired", detail: "the token shy_abc… expired on 2026-11-30", hint: "create a new one with `shipyard tokens create`" } },
      "/auth": { body: { tokens: true, oidc: null } },
    });
    renderAt("/runs?status=failed", { token: "shy_expired" });
    expect(await screen.findByRole("heading", { name: "Sign in to shipyard" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("expired on 2026-11-30");
    expect(screen.getByRole("status")).toHaveTextContent("shipyard tokens create");
    expect(window.sessionStorage.getItem(TOKEN_KEY)).toBeNull();
  });

  it("names an unknown run with the API's detail and hint", async () => {
    answerFetch({
      "/me": { body: ME },
      "/runs/feedbeef": { status: 404, body: { title: "not found", detail: "no run 'feedbeef'", hint: "`shipyard runs list` lists them" } },
    });
    renderAt("/runs/feedbeef");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Not found: not found");
    expect(alert).toHaveTextContent("no run 'feedbeef'");
    expect(alert).toHaveTextContent("`shipyard runs list` lists them");
  });

  it("says the server is down instead of showing a blank page", async () => {
    answerFetch({ "/me": "network-down" });
    renderAt("/catalog");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The shipyard server is not answering");
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });

  it("answers an unknown page with a message and the navigation", async () => {
    answerFetch({ "/me": { body: ME }, "/teams": { body: TEAMS } });
    renderAt("/no/such/page");
    expect(await screen.findByRole("heading", { name: "No such page" })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("navigation", { name: "main" })).toHaveTextContent("Runs"));
  });
});
