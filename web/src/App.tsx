import { lazy, Suspense } from "react";
import { BrowserRouter, Route, Routes } from "react-router-dom";

// The workspace is the heavy part of the UI: loaded only when a job is opened.
const WorkspacePage = lazy(() => import("./workspace/WorkspacePage"));

export function App() {
  return (
    <BrowserRouter>
      <Suspense fallback={<p role="status">Loading…</p>}>
        <Routes>
          <Route path="/tasks/:taskId/jobs/:jobId" element={<WorkspacePage />} />
          <Route path="*" element={<main><h1>Vellum</h1></main>} />
        </Routes>
      </Suspense>
    </BrowserRouter>
  );
}
