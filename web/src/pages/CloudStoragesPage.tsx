// /cloudstorages: the attached buckets one may use, and Attach for a new one.

import { Link } from "react-router-dom";
import { cloudStorages } from "../api/resources";
import { useList } from "../components/hooks";
import type { FilterSpec } from "../components/ListControls";
import { ListPage, ListTable } from "../components/ListPage";
import { paths } from "../components/paths";
import { userName, when } from "../components/ui";
import { COMMON_SORTS } from "./ProjectsPage";

const FILTERS: FilterSpec[] = [{ name: "provider_type", label: "Provider", options: ["AWS_S3_BUCKET"] }];

export default function CloudStoragesPage() {
  const [query, setQuery, list] = useList(FILTERS.map((f) => f.name), cloudStorages.list);
  return (
    <ListPage
      title="Cloud storages"
      what="cloud storages"
      actions={
        <Link className="button primary" to={paths.attachCloudStorage}>
          + Attach cloud storage
        </Link>
      }
      {...{ query, setQuery, list }}
      filters={FILTERS}
      sorts={COMMON_SORTS}
      empty={
        <>
          No cloud storage attached. <Link to={paths.attachCloudStorage}>Attach an S3 bucket</Link>: it then shows here
          and in the task form.
        </>
      }
    >
      {(items) => (
        <ListTable columns={["Name", "Provider", "Resource", "Manifests", "Owner", "Created"]} busy={list.loading}>
          {items.map((s) => (
            <tr key={s.id}>
              <td>
                <Link to={paths.cloudStorage(s.id)} className="strong-link">
                  {s.display_name}
                </Link>{" "}
                <span className="muted">#{s.id}</span>
                {s.description && <div className="muted small">{s.description}</div>}
              </td>
              <td>{s.provider_type}</td>
              <td>
                <code>{s.resource}</code>
              </td>
              <td>{s.manifests.join(", ") || "—"}</td>
              <td>{userName(s.owner)}</td>
              <td>{when(s.created_date)}</td>
            </tr>
          ))}
        </ListTable>
      )}
    </ListPage>
  );
}
