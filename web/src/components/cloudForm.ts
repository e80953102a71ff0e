// The attach/edit form of a cloud storage <-> the API's body. The server keeps S3 settings
// as CVAT's `specific_attributes` query string (endpoint_url, region, prefix); credentials
// are write-only: on an edit, empty secret fields mean "keep what is stored".

import type { CloudStorage, CloudStorageWrite } from "../api/types";

export const CREDENTIAL_TYPES = [
  { value: "KEY_SECRET_KEY_PAIR", label: "Access key and secret" },
  { value: "ANONYMOUS_ACCESS", label: "Anonymous (a public bucket)" },
] as const;
export type CredentialsType = (typeof CREDENTIAL_TYPES)[number]["value"];

export interface CloudForm {
  displayName: string;
  resource: string;
  credentialsType: CredentialsType;
  key: string;
  secretKey: string;
  sessionToken: string;
  endpointUrl: string;
  region: string;
  prefix: string;
  description: string;
  manifests: string;
}

export function emptyCloudForm(): CloudForm {
  return {
    displayName: "", resource: "", credentialsType: "KEY_SECRET_KEY_PAIR", key: "", secretKey: "",
    sessionToken: "", endpointUrl: "", region: "", prefix: "", description: "", manifests: "",
  };
}

/** A stored storage in the form (secrets are never sent back: they stay empty). */
export function cloudFormOf(storage: CloudStorage): CloudForm {
  const attrs = new URLSearchParams(storage.specific_attributes);
  const known = CREDENTIAL_TYPES.some((c) => c.value === storage.credentials_type);
  return {
    ...emptyCloudForm(),
    displayName: storage.display_name,
    resource: storage.resource,
    credentialsType: known ? (storage.credentials_type as CredentialsType) : "KEY_SECRET_KEY_PAIR",
    endpointUrl: attrs.get("endpoint_url") ?? "",
    region: attrs.get("region") ?? "",
    prefix: attrs.get("prefix") ?? "",
    description: storage.description,
    manifests: storage.manifests.join("\n"),
  };
}

/** `endpoint_url=http://...&region=...` as CVAT writes it: plain, escaping only what would
 * change the parse (%, &, +, #, =). */
function attributes(form: CloudForm): string {
  const escape = (v: string) => v.replace(/[%&+#=]/g, (c) => encodeURIComponent(c));
  const parts: [string, string][] = [["endpoint_url", form.endpointUrl], ["region", form.region], ["prefix", form.prefix]];
  return parts.filter(([, v]) => v.trim()).map(([k, v]) => `${k}=${escape(v.trim())}`).join("&");
}

const lines = (text: string) => text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);

/** POST body (`editing` false) or PATCH body: on an edit, secrets only when typed, and
 * all of them again when the kind of credentials changes. */
export function cloudBody(form: CloudForm, editing: CloudStorage | null = null): CloudStorageWrite {
  const body: CloudStorageWrite = {
    display_name: form.displayName.trim(),
    resource: form.resource.trim(),
    credentials_type: form.credentialsType,
    specific_attributes: attributes(form),
    description: form.description.trim(),
    manifests: lines(form.manifests),
  };
  if (!editing) body.provider_type = "AWS_S3_BUCKET";
  if (form.credentialsType === "KEY_SECRET_KEY_PAIR") {
    const secrets = { key: form.key, secret_key: form.secretKey, session_token: form.sessionToken };
    for (const [name, value] of Object.entries(secrets) as [keyof typeof secrets, string][]) {
      if (value.trim()) body[name] = value.trim();
    }
  }
  return body;
}

/** What keeps the form from being sent, in words. */
export function cloudProblems(form: CloudForm, editing: CloudStorage | null = null): string[] {
  const out: string[] = [];
  if (!form.displayName.trim()) out.push("Give the storage a display name.");
  if (!form.resource.trim()) out.push("Name the bucket.");
  const newKeys = !editing || editing.credentials_type !== form.credentialsType;
  if (form.credentialsType === "KEY_SECRET_KEY_PAIR" && newKeys && !(form.key.trim() && form.secretKey.trim())) {
    out.push("Give the access key and the secret key.");
  }
  if (form.endpointUrl.trim() && !/^https?:\/\/[^\s/]+/i.test(form.endpointUrl.trim())) {
    out.push("The endpoint is an http(s) URL, e.g. https://s3.example.com.");
  }
  if (form.prefix.trim().startsWith("/")) out.push("The prefix cannot start with a slash.");
  return out;
}
