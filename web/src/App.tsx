import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { Route, Routes } from "react-router";
import { SessionProvider } from "./auth/session";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Layout } from "./components/Layout";
import NotFound from "./pages/NotFound";
import SignIn from "./pages/SignIn";
import SignInCallback from "./pages/SignInCallback";
import { CALLBACK_PATH } from "./auth/oidc";
import { pageRoutes } from "./routes";

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignIn />} />
      <Route path={CALLBACK_PATH} element={<SignInCallback />} />
      <Route element={<Layout />}>
        {pageRoutes.map(({ path, page: Page }) => <Route key={path} path={path} element={<Page />} />)}
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

/** The providers every page needs; the router is the caller's (a browser's, or a test's memory router). */
export function App({ queryClient, children }: { queryClient: QueryClient; children: React.ReactNode }) {
  return (
    <ErrorBoundary>
      <SessionProvider>
        <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
      </SessionProvider>
    </ErrorBoundary>
  );
}
