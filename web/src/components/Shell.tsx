// The frame of every management page: a skip link, the top bar (sections, background work,
// the user menu with sign out) and the page below it.

import { useEffect, useRef, useState } from "react";
import { Link, NavLink, Outlet, useNavigate } from "react-router-dom";
import { percent } from "../api/polling";
import { useAuth } from "./Auth";
import { useNotify } from "./Notifications";
import { paths } from "./paths";
import { useRequests } from "./Requests";
import { ProgressBar } from "./ui";
import { CloseIcon } from "./icons";

export function Shell() {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to={paths.tasks} className="brand" aria-label="Vellum home">
          <span aria-hidden="true" className="brand-mark">
            ◆
          </span>{" "}
          Vellum
        </Link>
        <nav aria-label="Sections" className="sections">
          <NavLink to={paths.projects}>Projects</NavLink>
          <NavLink to={paths.tasks}>Tasks</NavLink>
          <NavLink to={paths.jobs}>Jobs</NavLink>
          <NavLink to={paths.cloudStorages}>Cloud storages</NavLink>
          <NavLink to={paths.requests}>Requests</NavLink>
        </nav>
        <div className="topbar-end">
          <ActiveRequests />
          <UserMenu />
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

/** A disclosure menu: opens with the button, closes on Escape or a click outside. */
function useMenu() {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onClick = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        setOpen(false);
        ref.current?.querySelector("button")?.focus();
      }
    };
    document.addEventListener("mousedown", onClick);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("mousedown", onClick);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);
  return { open, setOpen, ref };
}

function ActiveRequests() {
  const { tracked, forget } = useRequests();
  const menu = useMenu();
  const active = tracked.filter((t) => !t.error && t.request?.status !== "finished" && t.request?.status !== "failed");
  if (!tracked.length) return null;
  return (
    <div className="menu" ref={menu.ref}>
      <button
        type="button"
        className="topbar-button"
        aria-expanded={menu.open}
        aria-controls="requests-menu"
        onClick={() => menu.setOpen(!menu.open)}
      >
        {active.length ? <span className="spinner" aria-hidden="true" /> : null}
        Background work{active.length ? ` (${active.length} running)` : ""}
      </button>
      {menu.open && (
        <div id="requests-menu" className="menu-panel requests-panel">
          <ul>
            {[...tracked].reverse().map((t) => (
              <li key={t.id}>
                <div className="request-line">
                  <span>{t.title}</span>
                  <span className="muted">{t.error ? "lost" : (t.request?.status ?? "queued")}</span>
                  <button type="button" className="icon-button" aria-label={`Hide ${t.title}`} onClick={() => forget(t.id)}>
                    <CloseIcon />
                  </button>
                </div>
                {t.request && <ProgressBar value={percent(t.request)} label={`Progress of ${t.title}`} />}
                {t.request?.status === "failed" && <p className="error-text">{t.request.message}</p>}
              </li>
            ))}
          </ul>
          <Link to={paths.requests} onClick={() => menu.setOpen(false)}>
            All requests
          </Link>
        </div>
      )}
    </div>
  );
}

function UserMenu() {
  const { user, signOut } = useAuth();
  const notify = useNotify();
  const navigate = useNavigate();
  const menu = useMenu();
  if (!user) return null;
  return (
    <div className="menu" ref={menu.ref}>
      <button
        type="button"
        className="topbar-button"
        aria-haspopup="menu"
        aria-expanded={menu.open}
        aria-label={`User menu for ${user.username}`}
        onClick={() => menu.setOpen(!menu.open)}
      >
        <span className="avatar" aria-hidden="true">
          {user.username.slice(0, 1).toUpperCase()}
        </span>
        {user.username}
      </button>
      {menu.open && (
        <div className="menu-panel" role="menu">
          <p className="muted menu-note">
            Signed in as <strong>{user.username}</strong>
            {user.groups?.length ? ` (${user.groups.join(", ")})` : ""}
          </p>
          <button
            type="button"
            role="menuitem"
            autoFocus
            onClick={async () => {
              menu.setOpen(false);
              try {
                await signOut();
              } catch (e) {
                notify.error("Sign out failed", (e as Error).message);
              }
              navigate(paths.signIn);
            }}
          >
            Sign out
          </button>
        </div>
      )}
    </div>
  );
}
