import { Suspense } from "react";
import { Navigate, NavLink, Outlet, useLocation } from "react-router";
import { ApiError } from "../api/client";
import { useApi } from "../api/hooks";
import type { Identity } from "../api/types";
import { useSession } from "../auth/session";
import { navItems } from "../routes";
import { ErrorBoundary } from "./ErrorBoundary";
import { ErrorPanel } from "./ErrorPanel";
import { Loading } from "./Loading";

/** The shell of every page but sign-in: who is signed in, the navigation, and the page. */
export function Layout() {
  const { token, signOut } = useSession();
  const location = useLocation();
  const me = useApi<Identity>("/me");
  const next = location.pathname + location.search;
  if (me.error instanceof ApiError && me.error.status === 401) {
    // No token, or a refused one: a server without authentication answers /me without one.
    if (token) return <ErrorPanel error={me.error} />;
    return <Navigate to={`/sign-in?next=${encodeURIComponent(next)}`} replace />;
  }
  return (
    <div className="shell">
      <header>
        <span className="brand">shipyard</span>
        <nav aria-label="main">
          {navItems.map((item) => (
            <NavLink key={item.path} to={item.path} end={item.path === "/"}>{item.nav}</NavLink>
          ))}
        </nav>
        <span className="who">
          {me.data && <span title={me.data.teams.join(", ")}>{me.data.name}</span>}
          {token && <button type="button" onClick={() => signOut("You signed out.")}>Sign out</button>}
        </span>
      </header>
      <main>
        {me.error ? <ErrorPanel error={me.error} onRetry={() => me.refetch()} />
          : !me.data ? <Loading what="your identity" />
            : (
              <ErrorBoundary key={location.pathname}>
                <Suspense fallback={<Loading what="the page" />}>
                  <Outlet />
                </Suspense>
              </ErrorBoundary>
            )}
      </main>
    </div>
  );
}
