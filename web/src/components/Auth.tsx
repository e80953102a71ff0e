// Who is signed in (GET /api/users/self with the session cookie), sign in/up/out, and the
// guard that sends anonymous visitors to /auth/login?next=<the page they asked for>.

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { Navigate, useLocation } from "react-router-dom";
import { ApiError, UNAUTHORIZED } from "../api/client";
import { auth } from "../api/resources";
import type { User } from "../api/types";

interface AuthState {
  /** undefined while the first check runs, null when nobody is signed in. */
  user: User | null | undefined;
  signIn: (username: string, password: string) => Promise<void>;
  signUp: (body: Parameters<typeof auth.register>[0]) => Promise<void>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}

async function whoAmI(): Promise<User | null> {
  try {
    return await auth.self();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return null;
    throw error;
  }
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);

  useEffect(() => {
    whoAmI().then(setUser, () => setUser(null));
    const lost = () => setUser(null);
    window.addEventListener(UNAUTHORIZED, lost);
    return () => window.removeEventListener(UNAUTHORIZED, lost);
  }, []);

  const signIn = useCallback(async (username: string, password: string) => {
    await auth.login(username, password);
    setUser(await whoAmI());
  }, []);
  const signUp = useCallback(async (body: Parameters<typeof auth.register>[0]) => {
    await auth.register(body); // signs in as well
    setUser(await whoAmI());
  }, []);
  const signOut = useCallback(async () => {
    try {
      await auth.logout();
    } finally {
      setUser(null);
    }
  }, []);

  const value = useMemo(() => ({ user, signIn, signUp, signOut }), [user, signIn, signUp, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/** The children for a signed-in user; anonymous visitors go to sign in and come back. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { user } = useAuth();
  const location = useLocation();
  if (user === undefined) return <p role="status" className="page-status">Loading…</p>;
  if (user === null) {
    const next = location.pathname + location.search;
    return <Navigate to={`/auth/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}
