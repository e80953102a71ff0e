// The one way the UI talks to the REST API: the session cookie set by /api/auth/login, the
// CSRF header on unsafe methods (the server checks X-CSRFToken against the csrftoken
// cookie), JSON in and out, and errors turned into ApiError with the server's message.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export function cookie(name: string): string | undefined {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

/** The server's message for a failed request: CVAT answers `{"detail": ...}` or a map of
 * field -> messages. */
export function errorMessage(body: unknown, status: number): string {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    if (typeof b.detail === "string") return b.detail;
    // DRF's form-wide messages come under non_field_errors: shown without the key.
    const parts = Object.entries(b).map(([k, v]) => {
      const text = Array.isArray(v) ? v.join(" ") : String(v);
      return k === "non_field_errors" ? text : `${k}: ${text}`;
    });
    if (parts.length) return parts.join("; ");
  }
  if (typeof body === "string" && body) return body;
  return `Request failed (${status})`;
}

/** Dispatched on window when a request was refused for want of a session. */
export const UNAUTHORIZED = "vellum:unauthorized";

export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  init: RequestInit = {},
): Promise<T> {
  const headers = new Headers(init.headers);
  if (method !== "GET" && method !== "HEAD") {
    const csrf = cookie("csrftoken");
    if (csrf) headers.set("X-CSRFToken", csrf);
  }
  let payload: BodyInit | undefined;
  if (body instanceof FormData || body instanceof Blob) payload = body;
  else if (body !== undefined) {
    headers.set("Content-Type", "application/json");
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { ...init, method, headers, body: payload, credentials: "same-origin" });
  const text = await res.text();
  let parsed: unknown = text;
  if (text && (res.headers.get("content-type") ?? "").includes("json")) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (res.status === 401 && !path.startsWith("/api/auth/")) {
    // The session ended (expired, signed out elsewhere): the app goes back to signing in.
    window.dispatchEvent(new Event(UNAUTHORIZED));
  }
  if (!res.ok) throw new ApiError(res.status, errorMessage(parsed, res.status), parsed);
  return (text ? parsed : undefined) as T;
}
