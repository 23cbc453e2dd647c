/**
 * Signing in at the OIDC issuer by redirect: Authorization Code with PKCE (RFC 7636) for the dashboard's public
 * client. The issuer's endpoints come from its discovery document; the access token it gives is the bearer token.
 */

export const CALLBACK_PATH = "/sign-in/callback";
const PENDING_KEY = "shipyard.oidc.pending";

export interface OidcClient {
  issuer: string;
  client_id: string;
  scopes: string;
}

interface Endpoints {
  authorization_endpoint: string;
  token_endpoint: string;
}

/** What the tab remembers between leaving for the issuer and coming back with a code. */
interface Pending {
  state: string;
  verifier: string;
  tokenEndpoint: string;
  clientId: string;
  redirectUri: string;
  next: string;
}

export class SignInError extends Error {
  readonly hint: string;

  constructor(message: string, hint: string) {
    super(message);
    this.name = "SignInError";
    this.hint = hint;
  }
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
}

export async function discover(issuer: string): Promise<Endpoints> {
  const url = discoveryUrl(issuer);
  let document: Partial<Endpoints>;
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`it answered HTTP ${response.status}`);
    document = (await response.json()) as Partial<Endpoints>;
  } catch (cause) {
    throw new SignInError(`the issuer's discovery document ${url} could not be read: ${cause instanceof Error ? cause.message : String(cause)}`,
      "check that the issuer is up and allows this dashboard's origin (CORS), or paste a token instead");
  }
  if (typeof document.authorization_endpoint !== "string" || typeof document.token_endpoint !== "string") {
    throw new SignInError(`${url} names no authorization_endpoint and token_endpoint`,
      "the issuer must support the Authorization Code flow; paste a token instead");
  }
  return { authorization_endpoint: document.authorization_endpoint, token_endpoint: document.token_endpoint };
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The URL to send the browser to, remembering (for this tab) what the way back needs. */
export async function authorizationUrl(client: OidcClient, next: string, origin = window.location.origin): Promise<string> {
  const endpoints = await discover(client.issuer);
  const pending: Pending = {
    state: randomText(), verifier: randomText(), tokenEndpoint: endpoints.token_endpoint, clientId: client.client_id,
    redirectUri: `${origin}${CALLBACK_PATH}`, next,
  };
  window.sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(endpoints.authorization_endpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", client.client_id);
  url.searchParams.set("redirect_uri", pending.redirectUri);
  url.searchParams.set("scope", client.scopes);
  url.searchParams.set("state", pending.state);
  url.searchParams.set("code_challenge", await challengeOf(pending.verifier));
  url.searchParams.set("code_challenge_method", "S256");
  return url.toString();
}

function takePending(): Pending | null {
  const text = window.sessionStorage.getItem(PENDING_KEY);
  window.sessionStorage.removeItem(PENDING_KEY);
  try {
    return text ? (JSON.parse(text) as Pending) : null;
  } catch {
    return null;
  }
}

/** Trade the code the issuer sent back for an access token; the page to open next comes with it. */
export async function redeem(search: URLSearchParams): Promise<{ token: string; next: string }> {
  const again = "start again from the sign-in page";
  const refused = search.get("error");
  if (refused) {
    throw new SignInError(`the issuer refused the sign-in: ${search.get("error_description") || refused}`, again);
  }
  const pending = takePending();
  const code = search.get("code");
  if (!pending || !code) throw new SignInError("this tab has no sign-in in progress", again);
  if (search.get("state") !== pending.state) {
    throw new SignInError("the issuer's answer does not belong to this tab's sign-in (its state differs)", again);
  }
  const form = new URLSearchParams({
    grant_type: "authorization_code", code, redirect_uri: pending.redirectUri, client_id: pending.clientId,
    code_verifier: pending.verifier,
  });
  let body: Record<string, unknown>;
  let status: number;
  try {
    const response = await fetch(pending.tokenEndpoint, {
      method: "POST", body: form, headers: { Accept: "application/json" },
    });
    status = response.status;
    body = (await response.json()) as Record<string, unknown>;
  } catch (cause) {
    throw new SignInError(`the issuer's token endpoint ${pending.tokenEndpoint} did not answer: ${cause instanceof Error ? cause.message : String(cause)}`, again);
  }
  if (status >= 400 || typeof body.access_token !== "string") {
    const why = typeof body.error_description === "string" ? body.error_description
      : typeof body.error === "string" ? body.error : `HTTP ${status}, no access_token`;
    throw new SignInError(`the issuer did not give a token for the code: ${why}`, again);
  }
  return { token: body.access_token, next: pending.next };
}
