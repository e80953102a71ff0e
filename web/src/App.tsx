import { lazy, Suspense } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { AuthProvider, RequireAuth } from "./components/Auth";
import { ConfirmProvider } from "./components/Modal";
import { NotificationsProvider } from "./components/Notifications";
import { RequestsProvider } from "./components/Requests";
import { Shell } from "./components/Shell";
import AttachCloudStoragePage from "./pages/AttachCloudStoragePage";
import CloudStoragePage from "./pages/CloudStoragePage";
import CloudStoragesPage from "./pages/CloudStoragesPage";
import CreateProjectPage from "./pages/CreateProjectPage";
import CreateTaskPage from "./pages/CreateTaskPage";
import JobRoute from "./pages/JobRoute";
import JobsPage from "./pages/JobsPage";
import NotFoundPage from "./pages/NotFoundPage";
import ProjectPage from "./pages/ProjectPage";
import ProjectsPage from "./pages/ProjectsPage";
import RequestsPage from "./pages/RequestsPage";
import SignInPage from "./pages/SignInPage";
import SignUpPage from "./pages/SignUpPage";
import TaskPage from "./pages/TaskPage";
import TasksPage from "./pages/TasksPage";

// The workspace is the heavy part of the UI: loaded only when a job is opened.
const WorkspacePage = lazy(() => import("./workspace/WorkspacePage"));

// Providers: who is signed in, toasts, background requests and confirmations are app-wide
// (the workspace uses them too). Management pages share the Shell's top bar; the workspace
// has the whole window.
export function App() {
  return (
    <BrowserRouter>
      <AuthProvider>
        <NotificationsProvider>
          <RequestsProvider>
            <ConfirmProvider>
              <Suspense fallback={<p role="status">Loading…</p>}>
                <Routes>
                  <Route path="/auth/login" element={<SignInPage />} />
                  <Route path="/auth/register" element={<SignUpPage />} />
                  <Route
                    path="/tasks/:taskId/jobs/:jobId"
                    element={
                      <RequireAuth>
                        <JobRoute>
                          <WorkspacePage />
                        </JobRoute>
                      </RequireAuth>
                    }
                  />
                  <Route
                    element={
                      <RequireAuth>
                        <Shell />
                      </RequireAuth>
                    }
                  >
                    <Route index element={<Navigate to="/tasks" replace />} />
                    <Route path="/projects" element={<ProjectsPage />} />
                    <Route path="/projects/create" element={<CreateProjectPage />} />
                    <Route path="/projects/:projectId" element={<ProjectPage />} />
                    <Route path="/tasks" element={<TasksPage />} />
                    <Route path="/tasks/create" element={<CreateTaskPage />} />
                    <Route path="/tasks/:taskId" element={<TaskPage />} />
                    <Route path="/jobs" element={<JobsPage />} />
                    <Route path="/requests" element={<RequestsPage />} />
                    <Route path="/cloudstorages" element={<CloudStoragesPage />} />
                    <Route path="/cloudstorages/create" element={<AttachCloudStoragePage />} />
                    <Route path="/cloudstorages/:storageId" element={<CloudStoragePage />} />
                    <Route path="*" element={<NotFoundPage />} />
                  </Route>
                </Routes>
              </Suspense>
            </ConfirmProvider>
          </RequestsProvider>
        </NotificationsProvider>
      </AuthProvider>
    </BrowserRouter>
  );
}
