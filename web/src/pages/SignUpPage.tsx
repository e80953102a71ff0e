// Create an account (POST /api/auth/register signs in too); the server's field messages
// are shown next to their fields.

import { useState, type FormEvent } from "react";
import { Link, Navigate, useLocation, useNavigate } from "react-router-dom";
import { ApiError } from "../api/client";
import { useAuth } from "../components/Auth";
import { nextPage, paths } from "../components/paths";
import { ErrorNote } from "../components/ui";

const FIELDS = [
  { name: "first_name", label: "First name", type: "text", auto: "given-name", required: false },
  { name: "last_name", label: "Last name", type: "text", auto: "family-name", required: false },
  { name: "username", label: "Username", type: "text", auto: "username", required: true },
  { name: "email", label: "E-mail", type: "email", auto: "email", required: false },
  { name: "password1", label: "Password", type: "password", auto: "new-password", required: true },
  { name: "password2", label: "Repeat the password", type: "password", auto: "new-password", required: true },
] as const;

type Name = (typeof FIELDS)[number]["name"];

export default function SignUpPage() {
  const { user, signUp } = useAuth();
  const location = useLocation();
  const navigate = useNavigate();
  const [values, setValues] = useState<Record<Name, string>>({
    first_name: "", last_name: "", username: "", email: "", password1: "", password2: "",
  });
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  if (user) return <Navigate to={nextPage(location.search)} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setFieldErrors({});
    if (values.password1 !== values.password2) {
      setFieldErrors({ password2: "The two passwords differ." });
      return;
    }
    setBusy(true);
    try {
      await signUp({ ...values, username: values.username.trim(), email: values.email.trim() });
      navigate(nextPage(location.search), { replace: true });
    } catch (err) {
      setBusy(false);
      const body = err instanceof ApiError ? err.body : null;
      const known: Record<string, string> = {};
      if (body && typeof body === "object") {
        for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
          if (FIELDS.some((f) => f.name === k)) known[k] = Array.isArray(v) ? v.join(" ") : String(v);
        }
      }
      setFieldErrors(known);
      if (!Object.keys(known).length) setError(err as Error);
    }
  };

  return (
    <main id="main" className="auth-page">
      <form className="auth-card" onSubmit={submit} aria-labelledby="signup-title" noValidate>
        <p className="brand auth-brand" aria-hidden="true">
          <span className="brand-mark">◆</span> Vellum
        </p>
        <h1 id="signup-title">Create an account</h1>
        <ErrorNote error={error} />
        <div className="two-columns">
          {FIELDS.map((f) => (
            <label key={f.name} className={`field${f.name.startsWith("password") || f.name === "username" || f.name === "email" ? " span-2" : ""}`}>
              <span className={f.required ? "required" : undefined}>{f.label}</span>
              <input
                type={f.type}
                autoComplete={f.auto}
                required={f.required}
                value={values[f.name]}
                aria-invalid={fieldErrors[f.name] ? true : undefined}
                aria-describedby={fieldErrors[f.name] ? `${f.name}-error` : undefined}
                onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}
              />
              {fieldErrors[f.name] && (
                <span id={`${f.name}-error`} className="error-text">
                  {fieldErrors[f.name]}
                </span>
              )}
            </label>
          ))}
        </div>
        <button type="submit" className="primary wide" disabled={busy}>
          {busy ? "Creating…" : "Create account"}
        </button>
        <p className="muted">
          Have an account? <Link to={paths.signIn + location.search}>Sign in</Link>
        </p>
      </form>
    </main>
  );
}
