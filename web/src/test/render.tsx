import { render } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { vi } from "vitest";
import { App, AppRoutes } from "../App";
import { createQueryClient } from "../api/queryClient";
import { TOKEN_KEY } from "../auth/session";

export type Answer = { status?: number; body: unknown } | "network-down";
export type Handler = (url: URL, init: RequestInit | undefined) => Answer;

/** Answers the browser code's fetch calls at the HTTP boundary: by path (without /api/v1), else 404. */
export function answerFetch(routes: Record<string, Answer | Handler>) {
  const calls: URL[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://dashboard.test");
    calls.push(url);
    const path = url.pathname.replace(/^\/api\/v1/, "");
    const route = routes[path];
    const answer = typeof route === "function" ? route(url, init) : route;
    if (answer === "network-down") throw new TypeError("Failed to fetch");
    if (answer === undefined) {
      return problem(404, { title: "not found", detail: `there is no route ${url.pathname}`, hint: "see /openapi.json" });
    }
    const status = answer.status ?? 200;
    if (status >= 400) return problem(status, answer.body as Record<string, unknown>);
    return new Response(JSON.stringify(answer.body), { status, headers: { "content-type": "application/json" } });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { fetchMock, calls };
}

function problem(status: number, body: Record<string, unknown>): Response {
  return new Response(JSON.stringify({ type: "urn:shipyard:problem:x", status, ...body }),
    { status, headers: { "content-type": "application/problem+json" } });
}

export const ME = { name: "ada", kind: "user", teams: ["growth"], roles: { growth: "admin" }, platform_admin: false, authenticated: true };
export const TEAMS = { items: [{ name: "growth", separation_of_duties: true, members: { ada: "admin" } }], total: 1, offset: 0, limit: 500, next_offset: null };

export function renderAt(path: string, { token = "shy_good" }: { token?: string | null } = {}) {
  if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
  const queryClient = createQueryClient();
  queryClient.setDefaultOptions({ queries: { ...queryClient.getDefaultOptions().queries, retry: false } });
  return render(
    <App queryClient={queryClient}>
      <MemoryRouter initialEntries={[path]}>
        <AppRoutes />
      </MemoryRouter>
    </App>,
  );
}
