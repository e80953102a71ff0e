// /projects: search, filter, sort and page through the projects one may see.

import { Link } from "react-router-dom";
import { projects } from "../api/resources";
import { RestoreBackup } from "../components/DataActions";
import { useList } from "../components/hooks";
import type { FilterSpec, SortSpec } from "../components/ListControls";
import { ListPage, ListTable } from "../components/ListPage";
import { paths } from "../components/paths";
import { userName, when } from "../components/ui";

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
  return (
    <ListPage
      title="Projects"
      what="projects"
      actions={
        <>
          <RestoreBackup kind="project" onDone={list.reload} />
          <Link className="button primary" to={paths.createProject}>
            + Create project
          </Link>
        </>
      }
      {...{ query, setQuery, list }}
      filters={FILTERS}
      sorts={COMMON_SORTS}
      noMatch="No project matches. Try another search or clear the filters."
      empty={
        <>
          No projects yet. <Link to={paths.createProject}>Create the first one</Link>: a project holds labels that its
          tasks share.
        </>
      }
    >
      {(items) => (
        <ListTable columns={["Name", "Tasks", "Owner", "Assignee", "Updated"]} busy={list.loading}>
          {items.map((p) => (
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
        </ListTable>
      )}
    </ListPage>
  );
}
