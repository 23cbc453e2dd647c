import { afterEach, describe, expect, it } from "vitest";
import { answerFetch } from "../test/render";
import { ApiError, NetworkError, apiRequest, apiUrl } from "./client";

describe("the API client", () => {
  afterEach(() => window.sessionStorage.clear());

  it("sends the bearer token and the query, and reads JSON", async () => {
    const { fetchMock, calls } = answerFetch({ "/runs": { body: { items: [], total: 0 } } });
    const page = await apiRequest<{ total: number }>("/runs", { token: "shy_abc", query: { team: "growth", status: "", offset: 0 } });
    expect(page.total).toBe(0);
    expect(calls[0].pathname).toBe("/api/v1/runs");
    expect(calls[0].searchParams.get("team")).toBe("growth");
    expect(calls[0].searchParams.has("status")).toBe(false);
    expect(calls[0].searchParams.get("offset")).toBe("0");
    const headers = fetchMock.mock.calls[0][1]?.headers as Record<string, string>;
    expect(headers.Authorization).toBe("Bearer shy_abc");
  });

  it("turns a problem+json answer into an ApiError with its headline, detail and hint", async () => {
    answerFetch({ "/models/nope": { status: 404, body: { title: "not found", detail: "no model 'nope'", hint: "shipyard models list shows them" } } });
    const error = await apiRequest("/models/nope").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    const problem = error as ApiError;
    expect(problem.status).toBe(404);
    expect(problem.title).toBe("not found");
    expect(problem.detail).toBe("no model 'nope'");
    expect(problem.hint).toBe("shipyard models list shows them");
    expect(problem.message).toContain("shipyard models list shows them");
  });

  it("describes an error answer that is not problem+json from its status", async () => {
    answerFetch({ "/me": () => ({ status: 502, body: {} }) });
    const plain = new Response("<html>Bad Gateway</html>", { status: 502, statusText: "Bad Gateway" });
    globalThis.fetch = async () => plain;
    const error = (await apiRequest("/me").catch((caught: unknown) => caught)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(502);
    expect(error.title).toBe("Bad Gateway");
    expect(error.detail).toContain("502");
  });

  it("reports a server that does not answer as a NetworkError", async () => {
    answerFetch({ "/me": "network-down" });
    const error = await apiRequest("/me").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toContain("did not answer /api/v1/me");
  });

  it("builds URLs under /api/v1", () => {
    expect(apiUrl("/audit", { model: "churn", since: null })).toBe("/api/v1/audit?model=churn");
  });
});
