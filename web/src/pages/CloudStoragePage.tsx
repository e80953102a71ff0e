// /cloudstorages/:id: a storage's settings, whether its bucket answers, its content, and
// Edit / Delete.

import { useCallback, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { cloudStorages } from "../api/resources";
import type { CloudStorage } from "../api/types";
import { CloudStorageForm } from "../components/CloudStorageForm";
import { cloudBody } from "../components/cloudForm";
import { FileBrowser, type Listing } from "../components/FileBrowser";
import { useLoad } from "../components/hooks";
import { useConfirm } from "../components/Modal";
import { useNotify } from "../components/Notifications";
import { paths } from "../components/paths";
import { ErrorNote, StatusBadge, userName, when } from "../components/ui";
import NotFoundPage from "./NotFoundPage";

const STATUS_WORDS: Record<string, string> = {
  AVAILABLE: "available",
  NOT_FOUND: "bucket not found",
  FORBIDDEN: "access denied",
};

export default function CloudStoragePage() {
  const id = Number(useParams().storageId);
  const storage = useLoad(() => cloudStorages.get(id), String(id));
  const [editing, setEditing] = useState(false);
  const notify = useNotify();
  const confirm = useConfirm();
  const navigate = useNavigate();

  if (!Number.isInteger(id)) return <NotFoundPage />;
  if (storage.error) return <div className="page"><ErrorNote error={storage.error} title="The cloud storage could not be loaded" /></div>;
  if (!storage.data) return <p role="status" className="page-status">Loading…</p>;
  const s = storage.data;

  const remove = async () => {
    const ok = await confirm({
      title: "Delete cloud storage",
      message: (
        <p>
          Detach <strong>{s.display_name}</strong>? The bucket and its files stay; tasks made from it keep their data.
        </p>
      ),
      confirmLabel: "Delete cloud storage",
      danger: true,
    });
    if (!ok) return;
    try {
      await cloudStorages.remove(s.id);
      notify.success(`Cloud storage "${s.display_name}" deleted`);
      navigate(paths.cloudStorages);
    } catch (e) {
      notify.error("The cloud storage was not deleted", (e as Error).message);
    }
  };

  return (
    <div className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={paths.cloudStorages}>Cloud storages</Link> / <span aria-current="page">#{s.id}</span>
      </nav>
      <div className="page-header">
        <h1>{s.display_name}</h1>
        <div className="row">
          <button type="button" onClick={() => setEditing(true)} disabled={editing}>
            Edit
          </button>
          <button type="button" className="danger" onClick={remove}>
            Delete
          </button>
        </div>
      </div>
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
