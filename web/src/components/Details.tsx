// Pieces of the project and task pages: an editable title and a field saved on change.

import { useState, type FormEvent } from "react";
import { PencilIcon } from "./icons";

export function EditableTitle({ value, what, onSave }: { value: string; what: string; onSave: (name: string) => Promise<void> }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(value);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim() || text.trim() === value) return setEditing(false);
    setBusy(true);
    try {
      await onSave(text.trim());
      setEditing(false);
    } finally {
      setBusy(false);
    }
  };

  if (!editing) {
    return (
      <div className="title-row">
        <h1>{value}</h1>
        <button
          type="button"
          className="icon-button"
          aria-label={`Rename ${what}`}
          title="Rename"
          onClick={() => {
            setText(value);
            setEditing(true);
          }}
        >
          <PencilIcon />
        </button>
      </div>
    );
  }
  return (
    <form className="title-row" onSubmit={submit}>
      <input
        className="title-input"
        aria-label={`New name of the ${what}`}
        value={text}
        autoFocus
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => e.key === "Escape" && setEditing(false)}
      />
      <button type="submit" className="primary" disabled={busy}>
        Save
      </button>
      <button type="button" onClick={() => setEditing(false)}>
        Cancel
      </button>
    </form>
  );
}
