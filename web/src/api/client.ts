/** The typed client of the shipyard API (`/api/v1`): every failure becomes an ApiError or a NetworkError. */

export const API_PREFIX = "/api/v1";

/** A problem+json answer (RFC 9457) from the API: the error's headline, message and what to do next. */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly hint: string | null;
  readonly kind: string | null;

  constructor(status: number, title: string, detail: string, hint: string | null, kind: string | null) {
    super(hint ? `${title}: ${detail} (${hint})` : `${title}: ${detail}`);
    this.name = "ApiError";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.hint = hint;
    this.kind = kind;
  }
}

/** The server could not be reached at all (down, restarting, or the network is gone). */
export class NetworkError extends Error {
  constructor(path: string, cause: unknown) {
    super(`the shipyard server did not answer ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "NetworkError";
  }
}

export type QueryValue = string | number | boolean | null | undefined;
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  token?: string | null;
  query?: Query;
  method?: "GET" | "POST" | "PUT" | "DELETE";
  body?: unknown;
  signal?: AbortSignal;
}

export function apiUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return `${API_PREFIX}${path}${search ? `?${search}` : ""}`;
}

export async function apiRequest<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json, application/problem+json" };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const url = apiUrl(path, options.query);
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new NetworkError(url, cause);
  }
  if (!response.ok) throw await problemOf(response);
  try {
    return (await response.json()) as T;
  } catch {
    throw new ApiError(response.status, "unreadable answer", `${url} did not answer JSON`,
      "check that SHIPYARD_URL points at a shipyard server", null);
  }
}

async function problemOf(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // not problem+json (a proxy's page, say): described from the status alone below
  }
  const text = (key: string) => (typeof body[key] === "string" ? (body[key] as string) : null);
  const kind = text("type")?.replace("urn:shipyard:problem:", "") ?? null;
  return new ApiError(
    response.status,
    text("title") ?? (response.statusText || `HTTP ${response.status}`),
    text("detail") ?? `the server answered ${response.status} to ${response.url || "the request"}`,
    text("hint"),
    kind,
  );
}
