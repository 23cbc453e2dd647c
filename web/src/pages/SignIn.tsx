import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { apiRequest } from "../api/client";
import type { Identity, SignInOptions } from "../api/types";
import { authorizationUrl } from "../auth/oidc";
import { useSession } from "../auth/session";
import { describe } from "../components/ErrorPanel";

/** Paste an API token (or an OIDC JWT); it is checked with GET /me before it is kept. */
export default function SignIn() {
  const { signIn, notice } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [token, setToken] = useState("");
  const [checking, setChecking] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);
  const options = useQuery({ queryKey: ["/auth"], queryFn: () => apiRequest<SignInOptions>("/auth"), retry: false });
  const next = safeNext(params.get("next"));

  async function submit(event: FormEvent) {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setFailure(new Error("paste a token first: `shipyard tokens create --name dashboard` prints one"));
      return;
    }
    setChecking(true);
    setFailure(null);
    try {
      await apiRequest<Identity>("/me", { token: value });
      signIn(value);
      navigate(next, { replace: true });
    } catch (error) {
      setFailure(error);
    } finally {
      setChecking(false);
    }
  }

  async function redirect(client: { issuer: string; client_id: string; scopes: string }) {
    setChecking(true);
    setFailure(null);
    try {
      window.location.assign(await authorizationUrl(client, next));
    } catch (error) {
      setFailure(error);
      setChecking(false);
    }
  }

  const problem = failure ? describe(failure) : null;
  const oidc = options.data?.oidc ?? null;
  const clientId = oidc?.client_id ?? null;
  return (
    <main className="sign-in">
      <h1>Sign in to shipyard</h1>
      {notice && <p className="notice" role="status">{notice}</p>}
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        <input id="token" type="password" autoComplete="off" value={token} placeholder="shy_…"
          onChange={(event) => setToken(event.target.value)} />
        <button type="submit" disabled={checking}>{checking ? "Checking…" : "Sign in"}</button>
        <p className="hint">
          Create one with <code>shipyard tokens create --name dashboard</code>. It is kept in this browser tab
          only and sent as a bearer token to the API.
        </p>
      </form>
      {problem && (
        <section className="panel error" role="alert">
          <h2>{problem.heading}</h2>
          <p>{problem.body}</p>
          {problem.hint && <p className="hint">{problem.hint}</p>}
        </section>
      )}
      {oidc && clientId && (
        <section className="panel" aria-label="single sign-on">
          <h2>Single sign-on</h2>
          <p><button type="button" disabled={checking} onClick={() => redirect({ ...oidc, client_id: clientId })}>
            Sign in with {oidc.issuer}</button></p>
          <p className="hint">You come back here signed in; the issuer's access token is kept for this tab only.</p>
        </section>
      )}
      {oidc && !clientId && (
        <section className="panel">
          <h2>Single sign-on</h2>
          <p>
            This server accepts tokens from <strong>{oidc.issuer}</strong> (audience{" "}
            <code>{oidc.audience}</code>). Sign in there, then paste the token it gives you above.
          </p>
          <p><a href={oidc.issuer} rel="noreferrer">Open {oidc.issuer}</a></p>
        </section>
      )}
    </main>
  );
}

/** Only a path of this site: never send a signed-in user on to another origin. */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}
