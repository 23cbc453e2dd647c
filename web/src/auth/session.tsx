import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";

/** The API token is kept for the browser tab only (sessionStorage): closing the tab signs out. */
export const TOKEN_KEY = "shipyard.token";

export interface Session {
  token: string | null;
  /** Why the last session ended, shown on the sign-in page (an expired token, say). */
  notice: string | null;
  signIn: (token: string) => void;
  signOut: (notice?: string) => void;
}

const SessionContext = createContext<Session | null>(null);

function storedToken(): string | null {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(storedToken);
  const [notice, setNotice] = useState<string | null>(null);
  const signIn = useCallback((value: string) => {
    window.sessionStorage.setItem(TOKEN_KEY, value);
    setNotice(null);
    setToken(value);
  }, []);
  const signOut = useCallback((why?: string) => {
    window.sessionStorage.removeItem(TOKEN_KEY);
    setNotice(why ?? null);
    setToken(null);
  }, []);
  const session = useMemo(() => ({ token, notice, signIn, signOut }), [token, notice, signIn, signOut]);
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession needs a SessionProvider above it");
  return session;
}
