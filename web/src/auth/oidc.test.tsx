import { createHash } from "node:crypto";
import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { TOKEN_KEY } from "./session";
import { authorizationUrl } from "./oidc";
import { ME, TEAMS, answerFetch, renderAt } from "../test/render";

const CLIENT = { issuer: "https://login.example.com/", client_id: "shipyard-dashboard", scopes: "openid profile" };
const DISCOVERY = {
  "/.well-known/openid-configuration": { body: {
    issuer: "https://login.example.com", authorization_endpoint: "https://login.example.com/authorize",
    token_endpoint: "https://login.example.com/token" } },
};
const CHAIN = { ok: true, events: 0, first_bad_seq: null, problem: null, first_seq: null, head_seq: null, anchored: false,
  checkpoints: 0, anchored_through: null, unanchored_events: 0, summary: "0 events, chain intact" };

function s256(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}

describe("the redirect sign-in (Authorization Code with PKCE)", () => {
  it("sends the browser to the discovered endpoint with an S256 challenge of a verifier it keeps", async () => {
    const { calls } = answerFetch(DISCOVERY);
    const url = new URL(await authorizationUrl(CLIENT, "/audit", "http://dashboard.test"));
    expect(calls[0].toString()).toBe("https://login.example.com/.well-known/openid-configuration");
    expect(url.origin + url.pathname).toBe("https://login.example.com/authorize");
    const pending = JSON.parse(window.sessionStorage.getItem("shipyard.oidc.pending") ?? "{}");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: "code", client_id: "shipyard-dashboard", redirect_uri: "http://dashboard.test/sign-in/callback",
      scope: "openid profile", state: pending.state, code_challenge: s256(pending.verifier), code_challenge_method: "S256",
    });
    expect(pending.verifier.length).toBeGreaterThanOrEqual(43);
  });

  it("trades the code for a token with the verifier, keeps it and opens the page asked for", async () => {
    answerFetch(DISCOVERY);
    const state = new URL(await authorizationUrl(CLIENT, "/audit", "http://dashboard.test")).searchParams.get("state");
    const verifier = JSON.parse(window.sessionStorage.getItem("shipyard.oidc.pending") ?? "{}").verifier;
    let form: URLSearchParams | null = null;
    answerFetch({
      "/token": (_url, init) => {
        form = new URLSearchParams(String(init?.body));
        return form.get("code_verifier") === verifier && form.get("code") === "the-code"
          ? { body: { access_token: "header.claims.signature", token_type: "Bearer", expires_in: 300 } }
          : { status: 400, body: { error: "invalid_grant" } };
      },
      "/me": (_url, init) => ((init?.headers as Record<string, string>)?.Authorization === "Bearer header.claims.signature"
        ? { body: ME } : { status: 401, body: { title: "unauthenticated", detail: "no token" } }),
      "/teams": { body: TEAMS },
      "/audit": { body: { items: [], total: 0, offset: 0, limit: 50, next_offset: null } },
      "/audit/verify": { body: CHAIN },
    });
    renderAt(`/sign-in/callback?code=the-code&state=${state}`, { token: null });
    expect(await screen.findByRole("heading", { name: "Audit log" })).toBeInTheDocument();
    expect(window.sessionStorage.getItem(TOKEN_KEY)).toBe("header.claims.signature");
    expect(form!.get("grant_type")).toBe("authorization_code");
    expect(form!.get("redirect_uri")).toBe("http://dashboard.test/sign-in/callback");
    expect(window.sessionStorage.getItem("shipyard.oidc.pending")).toBeNull();
  });

  it("refuses an answer whose state is not this tab's, and a refusal from the issuer, saying why", async () => {
    answerFetch(DISCOVERY);
    await authorizationUrl(CLIENT, "/", "http://dashboard.test");
    renderAt("/sign-in/callback?code=the-code&state=forged", { token: null });
    expect(await screen.findByRole("alert")).toHaveTextContent("its state differs");
    expect(window.sessionStorage.getItem(TOKEN_KEY)).toBeNull();
  });

  it("shows the issuer's own refusal", async () => {
    answerFetch({});
    renderAt("/sign-in/callback?error=access_denied&error_description=the+user+said+no&state=x", { token: null });
    expect(await screen.findByRole("alert")).toHaveTextContent("the issuer refused the sign-in: the user said no");
  });

  it("offers the redirect when the server names the dashboard's client", async () => {
    answerFetch({ "/auth": { body: { tokens: true, oidc: { issuer: "https://login.example.com", audience: "shipyard",
      client_id: "shipyard-dashboard", scopes: "openid" } } } });
    renderAt("/sign-in", { token: null });
    expect(await screen.findByRole("button", { name: "Sign in with https://login.example.com" })).toBeEnabled();
    expect(screen.getByLabelText("API token")).toBeInTheDocument();
  });
});
