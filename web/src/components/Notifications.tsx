// App-wide toasts: `useNotify()` anywhere, one live region at the bottom right. Successes
// fade after a while; errors stay until dismissed, so that nobody misses one.

import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { CloseIcon } from "./icons";

export type ToastKind = "info" | "success" | "error";

export interface ToastAction {
  label: string;
  /** An in-app route (Link) ... */
  to?: string;
  /** ... or a file to download (a plain link with `download`). */
  download?: string;
}

export interface Toast {
  id: number;
  kind: ToastKind;
  title: string;
  message?: string;
  action?: ToastAction;
}

interface Notify {
  notify: (toast: Omit<Toast, "id">) => void;
  success: (title: string, message?: string, action?: ToastAction) => void;
  error: (title: string, message?: string) => void;
  dismiss: (id: number) => void;
}

const NotifyContext = createContext<Notify | null>(null);
const FADE_MS = 7000;

export function useNotify(): Notify {
  const ctx = useContext(NotifyContext);
  if (!ctx) throw new Error("useNotify outside NotificationsProvider");
  return ctx;
}

export function NotificationsProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);

  const dismiss = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);
  const notify = useCallback(
    (toast: Omit<Toast, "id">) => {
      const id = next.current++;
      setToasts((all) => [...all.slice(-4), { ...toast, id }]);
      if (toast.kind !== "error") setTimeout(() => dismiss(id), FADE_MS);
    },
    [dismiss],
  );
  const value = useMemo<Notify>(
    () => ({
      notify,
      dismiss,
      success: (title, message, action) => notify({ kind: "success", title, message, action }),
      error: (title, message) => notify({ kind: "error", title, message }),
    }),
    [notify, dismiss],
  );

  return (
    <NotifyContext.Provider value={value}>
      {children}
      <section className="toasts" aria-label="Notifications" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === "error" ? "alert" : "status"}>
            <div className="toast-body">
              <strong>{t.title}</strong>
              {t.message && <p>{t.message}</p>}
              {t.action?.to && (
                <Link to={t.action.to} onClick={() => dismiss(t.id)}>
                  {t.action.label}
                </Link>
              )}
              {t.action?.download && (
                <a href={t.action.download} download onClick={() => dismiss(t.id)}>
                  {t.action.label}
                </a>
              )}
            </div>
            <button type="button" className="icon-button" aria-label="Dismiss notification" onClick={() => dismiss(t.id)}>
              <CloseIcon />
            </button>
          </div>
        ))}
      </section>
    </NotifyContext.Provider>
  );
}
