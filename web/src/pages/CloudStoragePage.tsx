// /cloudstorages/:id: a storage's settings, whether its bucket answers, its content, and
// Edit / Delete.

import { useCallback, useState } from "react";
import { useParams } from "react-router-dom";
import { cloudStorages } from "../api/resources";
import type { CloudStorage } from "../api/types";
import { CloudStorageForm } from "../components/CloudStorageForm";
import { cloudBody } from "../components/cloudForm";
import { FileBrowser, type Listing } from "../components/FileBrowser";
import { useLoad } from "../components/hooks";
import { useNotify } from "../components/Notifications";
import { paths } from "../components/paths";
import { ResourceHeader, detailGate, useDeleteResource } from "../components/resource";
import { StatusBadge, userName, when } from "../components/ui";

const STATUS_WORDS: Record<string, string> = {
  AVAILABLE: "available",
  NOT_FOUND: "bucket not found",
  FORBIDDEN: "access denied",
};

const LIST = { to: paths.cloudStorages, label: "Cloud storages" };

export default function CloudStoragePage() {
  const id = Number(useParams().storageId);
  const storage = useLoad(() => cloudStorages.get(id), String(id));
  const [editing, setEditing] = useState(false);
  const notify = useNotify();
  const remove = useDeleteResource();

  const gate = detailGate(id, storage, "Cloud storage", LIST);
  if (gate || !storage.data) return gate;
  const s = storage.data;

  const onDelete = () =>
    remove({
      what: "cloud storage",
      name: s.display_name,
      message: (
        <p>
          Detach <strong>{s.display_name}</strong>? The bucket and its files stay; tasks made from it keep their data.
        </p>
      ),
      remove: () => cloudStorages.remove(s.id),
      then: paths.cloudStorages,
    });

  return (
    <div className="page">
      <ResourceHeader list={LIST} id={s.id} title={<h1>{s.display_name}</h1>} onDelete={onDelete}>
        <button type="button" onClick={() => setEditing(true)} disabled={editing}>
          Edit
        </button>
      </ResourceHeader>
      {editing ? (
        <section className="panel" aria-labelledby="edit-title">
          <h2 id="edit-title">Edit</h2>
          <CloudStorageForm
            editing={s}
            submitLabel="Save"
            onCancel={() => setEditing(false)}
            onSubmit={async (form) => {
              storage.set(await cloudStorages.update(s.id, cloudBody(form, s)));
              notify.success("Cloud storage saved");
              setEditing(false);
            }}
          />
        </section>
      ) : (
        <Settings storage={s} />
      )}
      <Content storage={s} />
    </div>
  );
}

function Settings({ storage: s }: { storage: CloudStorage }) {
  const status = useLoad(() => cloudStorages.status(s.id), `${s.id}:${s.resource}:${s.specific_attributes}`);
  const attrs = new URLSearchParams(s.specific_attributes);
  return (
    <section className="panel" aria-label="Details">
      <dl className="details">
        <dt>Status</dt>
        <dd aria-live="polite">
          {status.loading ? "checking…" : status.error ? status.error.message : <StatusBadge value={STATUS_WORDS[status.data ?? ""] ?? String(status.data)} />}{" "}
          <button type="button" className="link-button" onClick={status.reload}>
            Check again
          </button>
        </dd>
        <dt>Provider</dt>
        <dd>{s.provider_type}</dd>
        <dt>Bucket</dt>
        <dd>
          <code>{s.resource}</code>
        </dd>
        <dt>Endpoint</dt>
        <dd>{attrs.get("endpoint_url") || "AWS"}</dd>
        <dt>Region</dt>
        <dd>{attrs.get("region") || "—"}</dd>
        {attrs.get("prefix") && (
          <>
            <dt>Prefix</dt>
            <dd>{attrs.get("prefix")}</dd>
          </>
        )}
        <dt>Credentials</dt>
        <dd>{s.credentials_type === "ANONYMOUS_ACCESS" ? "anonymous" : "access key (stored encrypted)"}</dd>
        <dt>Manifests</dt>
        <dd>{s.manifests.join(", ") || "—"}</dd>
        <dt>Description</dt>
        <dd>{s.description || "—"}</dd>
        <dt>Owner</dt>
        <dd>{userName(s.owner)}</dd>
        <dt>Created</dt>
        <dd>{when(s.created_date)}</dd>
      </dl>
    </section>
  );
}

function Content({ storage }: { storage: CloudStorage }) {
  const { id, resource, specific_attributes: attributes } = storage;
  const list = useCallback((dir: string, next?: string): Promise<Listing> => cloudStorages.content(id, dir, next), [id]);
  return (
    <section className="panel" aria-labelledby="content-title">
      <h2 id="content-title">Content</h2>
      {/* A changed bucket, endpoint or prefix lists afresh. */}
      <FileBrowser key={`${resource}?${attributes}`} label="Bucket content" list={list} />
    </section>
  );
}
