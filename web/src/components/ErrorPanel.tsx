import { useEffect } from "react";
import { Link } from "react-router";
import { useSession } from "../auth/session";
import { ApiError, NetworkError } from "../api/client";
import { SignInError } from "../auth/oidc";

/** A readable account of why a page's data did not come: never a blank page. */
export function ErrorPanel({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (error instanceof ApiError && error.status === 401) return <SessionEnded error={error} />;
  const { heading, body, hint } = describe(error);
  return (
    <section className="panel error" role="alert">
      <h2>{heading}</h2>
      <p>{body}</p>
      {hint && <p className="hint">{hint}</p>}
      <p className="actions">
        {onRetry && !(error instanceof ApiError && error.status < 500) && (
          <button type="button" onClick={onRetry}>Try again</button>
        )}
        <Link to="/">Back to the overview</Link>
      </p>
    </section>
  );
}

export function describe(error: unknown): { heading: string; body: string; hint: string | null } {
  if (error instanceof NetworkError) {
    return {
      heading: "The shipyard server is not answering",
      body: error.message,
      hint: "check that `shipyard server` is running and reachable, then try again",
    };
  }
  if (error instanceof ApiError) {
    const heading = error.status === 404 ? `Not found: ${error.title}`
      : error.status === 403 ? `Not allowed: ${error.title}`
        : error.status >= 500 ? `The server failed: ${error.title}` : error.title;
    return { heading, body: error.detail, hint: error.hint };
  }
  if (error instanceof SignInError) return { heading: "Sign-in failed", body: error.message, hint: error.hint };
  return {
    heading: "Something went wrong in the dashboard",
    body: error instanceof Error ? error.message : String(error),
    hint: "reload the page; if it happens again, the browser console has the details",
  };
}

/** A refused token (expired, revoked, or never valid): back to sign-in, saying why. */
function SessionEnded({ error }: { error: ApiError }) {
  const { signOut } = useSession();
  useEffect(() => {
    signOut(`Your session ended: ${error.detail}.${error.hint ? ` ${error.hint}.` : ""} Sign in again.`);
  }, [error, signOut]);
  return (
    <section className="panel error" role="alert">
      <h2>Your session ended</h2>
      <p>{error.detail}</p>
    </section>
  );
}
