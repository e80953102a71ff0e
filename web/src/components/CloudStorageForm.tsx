// The fields of a cloud storage (an S3 bucket: AWS or any S3-compatible endpoint), for
// attaching one and for changing it. The server checks that the bucket answers before it
// keeps anything; its refusal is shown as said.

import { useState, type FormEvent } from "react";
import type { CloudStorage } from "../api/types";
import { Problems } from "./labels/LabelsSection";
import { CREDENTIAL_TYPES, cloudFormOf, cloudProblems, emptyCloudForm, type CloudForm, type CredentialsType } from "./cloudForm";
import { ErrorNote } from "./ui";

interface Props {
  editing?: CloudStorage | null;
  submitLabel: string;
  onSubmit: (form: CloudForm) => Promise<void>;
  onCancel: () => void;
}

export function CloudStorageForm({ editing = null, submitLabel, onSubmit, onCancel }: Props) {
  const [form, setForm] = useState<CloudForm>(() => (editing ? cloudFormOf(editing) : emptyCloudForm()));
  const [found, setFound] = useState<string[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (change: Partial<CloudForm>) => setForm((f) => ({ ...f, ...change }));
  const keep = editing && editing.credentials_type === form.credentialsType ? " (empty: keep the stored one)" : "";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const list = cloudProblems(form, editing);
    setFound(list);
    if (list.length) return;
    setBusy(true);
    setError(null);
    try {
      await onSubmit(form);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  const text = (label: string, field: keyof CloudForm, extra: { type?: string; placeholder?: string; autoComplete?: string } = {}) => (
    <label className="field">
      <span>{label}</span>
      <input
        type={extra.type ?? "text"}
        value={form[field] as string}
        placeholder={extra.placeholder}
        autoComplete={extra.autoComplete ?? "off"}
        onChange={(e) => set({ [field]: e.target.value })}
      />
    </label>
  );

  return (
    <form onSubmit={submit} className="stack" noValidate>
      <div className="two-columns">
        {text("Display name", "displayName")}
        {text("Bucket", "resource", { placeholder: "my-bucket" })}
      </div>
      <div className="two-columns">
        {text("Endpoint URL (empty: AWS)", "endpointUrl", { placeholder: "https://s3.example.com" })}
        {text("Region", "region", { placeholder: "us-east-1" })}
      </div>
      {text("Prefix (only keys under it are seen)", "prefix", { placeholder: "images/" })}
      <label className="field">
        <span>Credentials</span>
        <select value={form.credentialsType} onChange={(e) => set({ credentialsType: e.target.value as CredentialsType })}>
          {CREDENTIAL_TYPES.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      {form.credentialsType === "KEY_SECRET_KEY_PAIR" && (
        <div className="three-columns">
          {text(`Access key ID${keep}`, "key")}
          {text(`Secret access key${keep}`, "secretKey", { type: "password", autoComplete: "new-password" })}
          {text("Session token (optional)", "sessionToken", { type: "password", autoComplete: "new-password" })}
        </div>
      )}
      <label className="field">
        <span>Manifests: one file name per line (optional)</span>
        <textarea rows={2} className="code" value={form.manifests} onChange={(e) => set({ manifests: e.target.value })} placeholder="manifest.jsonl" />
      </label>
      {text("Description", "description")}
      <Problems list={found} />
      <ErrorNote error={error} title="The server refused" />
      <div className="row">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Checking the bucket…" : submitLabel}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
