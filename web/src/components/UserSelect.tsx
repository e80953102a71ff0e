// Choosing an assignee: a text box that suggests users as one types (GET /api/users?search=),
// committed with Enter, on leaving the box or by picking a suggestion; empty means nobody.
// Admins find everyone; other users find only themselves, as the API shows them.

import { useEffect, useId, useRef, useState, type ChangeEvent } from "react";
import { users } from "../api/resources";
import type { UserSummary } from "../api/types";
import { useNotify } from "./Notifications";

interface Props {
  label: string;
  value: UserSummary | null;
  /** May return a promise: the box shows the saved assignee again once it settles. */
  onChange: (userId: number | null) => unknown;
  disabled?: boolean;
  hideLabel?: boolean;
}

const SUGGESTIONS = 20;

export function UserSelect({ label, value, onChange, disabled, hideLabel }: Props) {
  const listId = useId();
  const notify = useNotify();
  const current = value?.username ?? "";
  const [text, setText] = useState(current);
  const [options, setOptions] = useState<UserSummary[]>([]);
  const [focused, setFocused] = useState(false);

  // The name being committed: Enter then leaving the box must not assign twice.
  const committing = useRef<string | null>(null);
  const latest = useRef(current);
  latest.current = current;

  useEffect(() => {
    setText(current);
    committing.current = null;
  }, [current]);

  useEffect(() => {
    if (!focused) return;
    let live = true;
    const timer = setTimeout(() => {
      users.list(text.trim(), SUGGESTIONS).then(
        (page) => live && setOptions(page.results),
        () => live && setOptions([]),
      );
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [text, focused]);

  const commit = async (name: string) => {
    name = name.trim();
    if (name === current || name === committing.current) return;
    committing.current = name;
    const assign = async (id: number | null) => {
      try {
        await onChange(id);
      } catch {
        // the page said what went wrong
      } finally {
        committing.current = null;
        setText(latest.current);
      }
    };
    if (!name) return assign(null);
    let match = options.find((u) => u.username === name);
    if (!match) {
      const page = await users.list(name, SUGGESTIONS).catch(() => null);
      match = page?.results.find((u) => u.username === name);
    }
    if (match) return assign(match.id);
    notify.error(`No user "${name}"`, "Type a username from the suggestions, or leave the box empty for nobody.");
    committing.current = null;
    setText(current);
  };

  const onInput = (e: ChangeEvent<HTMLInputElement>) => {
    setText(e.target.value);
    // A suggestion picked from the list (no typing): take it at once.
    const typed = (e.nativeEvent as InputEvent).inputType;
    if ((typed === undefined || typed === "insertReplacementText") && options.some((u) => u.username === e.target.value)) {
      void commit(e.target.value);
    }
  };

  const input = (
    <input
      className="user-input"
      list={listId}
      aria-label={hideLabel ? label : undefined}
      placeholder="nobody"
      value={text}
      disabled={disabled}
      autoComplete="off"
      onChange={onInput}
      onFocus={() => setFocused(true)}
      onBlur={() => {
        setFocused(false);
        void commit(text);
      }}
      onKeyDown={(e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          void commit(text);
        } else if (e.key === "Escape") {
          setText(current);
        }
      }}
    />
  );
  const datalist = (
    <datalist id={listId}>
      {options.map((u) => (
        <option key={u.id} value={u.username}>
          {`${u.first_name} ${u.last_name}`.trim() || u.username}
        </option>
      ))}
    </datalist>
  );
  if (hideLabel) {
    return (
      <>
        {input}
        {datalist}
      </>
    );
  }
  return (
    <label className="field">
      <span>{label}</span>
      {input}
      {datalist}
    </label>
  );
}
