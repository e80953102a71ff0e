// Choosing an assignee. Admins see every user (GET /api/users); others see only themselves,
// as the API shows them, plus whoever is assigned now.

import { useEffect, useState } from "react";
import { users } from "../api/resources";
import type { User, UserSummary } from "../api/types";

let cache: Promise<User[]> | null = null;

function allUsers(): Promise<User[]> {
  cache ??= users.list("", 500).then(
    (page) => page.results,
    (error) => {
      cache = null;
      throw error;
    },
  );
  return cache;
}

/** Forget the cached users (after signing in as someone else). */
export function forgetUsers(): void {
  cache = null;
}

interface Props {
  label: string;
  value: UserSummary | null;
  onChange: (userId: number | null) => void;
  disabled?: boolean;
  hideLabel?: boolean;
}

export function UserSelect({ label, value, onChange, disabled, hideLabel }: Props) {
  const [options, setOptions] = useState<UserSummary[]>([]);
  useEffect(() => {
    let live = true;
    allUsers().then(
      (list) => live && setOptions(list),
      () => live && setOptions([]),
    );
    return () => {
      live = false;
    };
  }, []);
  const shown = value && !options.some((u) => u.id === value.id) ? [value, ...options] : options;
  const select = (
    <select
      aria-label={hideLabel ? label : undefined}
      value={value?.id ?? ""}
      disabled={disabled}
      onChange={(e) => onChange(e.target.value ? Number(e.target.value) : null)}
    >
      <option value="">— nobody —</option>
      {shown.map((u) => (
        <option key={u.id} value={u.id}>
          {u.username}
        </option>
      ))}
    </select>
  );
  if (hideLabel) return select;
  return (
    <label className="field">
      <span>{label}</span>
      {select}
    </label>
  );
}
