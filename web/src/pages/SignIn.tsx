import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { apiRequest } from "../api/client";
import type { Identity, SignInOptions } from "../api/types";
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

  const problem = failure ? describe(failure) : null;
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
      {options.data?.oidc && (
        <section className="panel">
          <h2>Single sign-on</h2>
          <p>
            This server accepts tokens from <strong>{options.data.oidc.issuer}</strong> (audience{" "}
            <code>{options.data.oidc.audience}</code>). Sign in there, then paste the token it gives you above.
          </p>
          <p><a href={options.data.oidc.issuer} rel="noreferrer">Open {options.data.oidc.issuer}</a></p>
        </section>
      )}
    </main>
  );
}

/** Only a path of this site: never send a signed-in user on to another origin. */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}
