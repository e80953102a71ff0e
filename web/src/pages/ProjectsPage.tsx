// /projects: search, filter, sort and page through the projects one may see.

import { Link } from "react-router-dom";
import { projects } from "../api/resources";
import { RestoreBackup } from "../components/DataActions";
import { useList } from "../components/hooks";
import { ListToolbar, Pager, type FilterSpec, type SortSpec } from "../components/ListControls";
import { paths } from "../components/paths";
import { Empty, ErrorNote, userName, when } from "../components/ui";

const FILTERS: FilterSpec[] = [
  { name: "owner", label: "Owner" },
  { name: "assignee", label: "Assignee" },
];
export const COMMON_SORTS: SortSpec[] = [
  { value: "", label: "Newest first" },
  { value: "id", label: "Oldest first" },
  { value: "name", label: "Name A–Z" },
  { value: "-name", label: "Name Z–A" },
  { value: "-updated_date", label: "Recently updated" },
];

export default function ProjectsPage() {
  const [query, setQuery, list] = useList(FILTERS.map((f) => f.name), projects.list);
  const filtered = Boolean(query.search || Object.keys(query.filters).length);

  return (
    <div className="page">
      <div className="page-header">
        <h1>Projects</h1>
        <div className="row">
          <RestoreBackup kind="project" onDone={list.reload} />
          <Link className="button primary" to={paths.createProject}>
            + Create project
          </Link>
        </div>
      </div>
      <ListToolbar what="projects" query={query} onChange={setQuery} filters={FILTERS} sorts={COMMON_SORTS} />
      <ErrorNote error={list.error} title="The projects could not be loaded" />
      {list.data && list.data.results.length === 0 && (
        <Empty>
          {filtered ? (
            <p>No project matches. Try another search or clear the filters.</p>
          ) : (
            <p>
              No projects yet. <Link to={paths.createProject}>Create the first one</Link>: a project holds labels
              that its tasks share.
            </p>
          )}
        </Empty>
      )}
      {list.data && list.data.results.length > 0 && (
        <table className="list-table" aria-busy={list.loading}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Tasks</th>
              <th scope="col">Owner</th>
              <th scope="col">Assignee</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.data.results.map((p) => (
              <tr key={p.id}>
                <td>
                  <Link to={paths.project(p.id)} className="strong-link">
                    {p.name}
                  </Link>{" "}
                  <span className="muted">#{p.id}</span>
                </td>
                <td>{p.tasks.count}</td>
                <td>{userName(p.owner)}</td>
                <td>{userName(p.assignee)}</td>
                <td>{when(p.updated_date)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.data && <Pager what="projects" query={query} count={list.data.count} onChange={setQuery} />}
    </div>
  );
}
