// /cloudstorages: the attached buckets one may use, and Attach for a new one.

import { Link } from "react-router-dom";
import { cloudStorages } from "../api/resources";
import { useList } from "../components/hooks";
import { ListToolbar, Pager, type FilterSpec } from "../components/ListControls";
import { paths } from "../components/paths";
import { Empty, ErrorNote, userName, when } from "../components/ui";
import { COMMON_SORTS } from "./ProjectsPage";

const FILTERS: FilterSpec[] = [{ name: "provider_type", label: "Provider", options: ["AWS_S3_BUCKET"] }];

export default function CloudStoragesPage() {
  const [query, setQuery, list] = useList(FILTERS.map((f) => f.name), cloudStorages.list);
  return (
    <div className="page">
      <div className="page-header">
        <h1>Cloud storages</h1>
        <Link className="button primary" to={paths.attachCloudStorage}>
          + Attach cloud storage
        </Link>
      </div>
      <ListToolbar what="cloud storages" query={query} onChange={setQuery} filters={FILTERS} sorts={COMMON_SORTS} />
      <ErrorNote error={list.error} title="The cloud storages could not be loaded" />
      {list.data && list.data.results.length === 0 && (
        <Empty>
          <p>
            No cloud storage attached. <Link to={paths.attachCloudStorage}>Attach an S3 bucket</Link>: it then shows
            here and in the task form.
          </p>
        </Empty>
      )}
      {list.data && list.data.results.length > 0 && (
        <table className="list-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Provider</th>
              <th scope="col">Resource</th>
              <th scope="col">Manifests</th>
              <th scope="col">Owner</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {list.data.results.map((s) => (
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
          </tbody>
        </table>
      )}
      {list.data && <Pager what="cloud storages" query={query} count={list.data.count} onChange={setQuery} />}
    </div>
  );
}
