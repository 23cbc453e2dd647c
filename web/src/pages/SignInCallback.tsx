import { useEffect, useState } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { apiRequest } from "../api/client";
import type { Identity } from "../api/types";
import { redeem } from "../auth/oidc";
import { useSession } from "../auth/session";
import { describe } from "../components/ErrorPanel";

/** A code is redeemed once: a second effect run (React's development checks) reuses the first exchange. */
const exchanges = new Map<string, Promise<{ token: string; next: string }>>();

function exchange(search: string) {
  let found = exchanges.get(search);
  if (!found) {
    found = redeem(new URLSearchParams(search)).then(async (result) => {
      await apiRequest<Identity>("/me", { token: result.token });
      return result;
    });
    exchanges.set(search, found);
  }
  return found;
}

/** Where the issuer sends the browser back: the code becomes a token, checked with GET /me, then kept. */
export default function SignInCallback() {
  const { signIn } = useSession();
  const navigate = useNavigate();
  const { search } = useLocation();
  const [failure, setFailure] = useState<unknown>(null);
  useEffect(() => {
    let current = true;
    exchange(search).then(({ token, next }) => {
      if (!current) return;
      signIn(token);
      navigate(next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
    }, (error: unknown) => current && setFailure(error));
    return () => {
      current = false;
    };
  }, [search, signIn, navigate]);
  if (!failure) return <main className="sign-in"><p role="status">Signing in…</p></main>;
  const problem = describe(failure);
  return (
    <main className="sign-in">
      <section className="panel error" role="alert">
        <h2>{problem.heading}</h2>
        <p>{problem.body}</p>
        {problem.hint && <p className="hint">{problem.hint}</p>}
        <p><Link to="/sign-in">Back to sign-in</Link></p>
      </section>
    </main>
  );
}
