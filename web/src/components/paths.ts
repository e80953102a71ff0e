// The UI's addresses, CVAT's habits: /projects/:id, /tasks/:id, /tasks/:tid/jobs/:jid.

export const paths = {
  projects: "/projects",
  project: (id: number) => `/projects/${id}`,
  createProject: "/projects/create",
  tasks: "/tasks",
  task: (id: number) => `/tasks/${id}`,
  createTask: (projectId?: number) => (projectId ? `/tasks/create?project_id=${projectId}` : "/tasks/create"),
  jobs: "/jobs",
  job: (taskId: number, jobId: number) => `/tasks/${taskId}/jobs/${jobId}`,
  requests: "/requests",
  cloudStorages: "/cloudstorages",
  cloudStorage: (id: number) => `/cloudstorages/${id}`,
  attachCloudStorage: "/cloudstorages/create",
  signIn: "/auth/login",
  signUp: "/auth/register",
};

/** Where to go after signing in: the `next` page when it is one of ours (never another
 * site, nor back to the sign-in pages), else the tasks. */
export function nextPage(search: string): string {
  const next = new URLSearchParams(search).get("next") ?? "";
  const ours = next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\");
  return ours && !next.startsWith("/auth/") ? next : paths.tasks;
}
