// Sign in (POST /api/auth/login); back to the page that was asked for.

import { useState, type FormEvent } from "react";
import { Link, Navigate, useLocation, useNavigate } from "react-router-dom";
import { useAuth } from "../components/Auth";
import { nextPage, paths } from "../components/paths";
import { ErrorNote } from "../components/ui";

export default function SignInPage() {
  const { user, signIn } = useAuth();
  const location = useLocation();
  const navigate = useNavigate();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  if (user) return <Navigate to={nextPage(location.search)} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username.trim(), password);
      navigate(nextPage(location.search), { replace: true });
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  };

  return (
    <main id="main" className="auth-page">
      <form className="auth-card" onSubmit={submit} aria-labelledby="signin-title">
        <p className="brand auth-brand" aria-hidden="true">
          <span className="brand-mark">◆</span> Vellum
        </p>
        <h1 id="signin-title">Sign in</h1>
        <ErrorNote error={error} />
        <label className="field">
          <span>Username or e-mail</span>
          <input autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </label>
        <label className="field">
          <span>Password</span>
          <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <button type="submit" className="primary wide" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p className="muted">
          New here? <Link to={paths.signUp + location.search}>Create an account</Link>
        </p>
      </form>
    </main>
  );
}
