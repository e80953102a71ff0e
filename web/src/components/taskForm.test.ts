import { describe, expect, it } from "vitest";
import { dataParams, emptyTaskForm, formProblems, remoteUrls, taskBody } from "./taskForm";

const label = { key: "k", name: "car", color: "#33ddff", type: "any" as const, attributes: [], points: [], edges: [] };

describe("create task form", () => {
  it("sends labels without a project, the project without labels", () => {
    const form = { ...emptyTaskForm(), name: " street ", labels: [label], subset: "Train", segmentSize: "5" };
    expect(taskBody(form)).toEqual({
      name: "street", subset: "Train", segment_size: 5,
      labels: [{ name: "car", color: "#33ddff", type: "any", attributes: [] }],
    });
    expect(taskBody({ ...form, projectId: 3, segmentSize: "" })).toEqual({ name: "street", project_id: 3, subset: "Train" });
  });

  it("builds the data parameters of each source", () => {
    const base = { ...emptyTaskForm(), imageQuality: "90", frameStep: "3", startFrame: "2" };
    expect(dataParams(base)).toEqual({
      image_quality: 90, sorting_method: "lexicographical", use_zip_chunks: true, use_cache: true,
      start_frame: 2, frame_filter: "step=3",
    });
    expect(dataParams({ ...base, source: "share", shareFiles: ["a/", "b.png"] })).toMatchObject({
      server_files: ["a/", "b.png"], storage: "share",
    });
    expect(dataParams({ ...base, source: "remote", remoteText: " http://x/a.png \n\nhttp://x/b.png" }).remote_files).toEqual([
      "http://x/a.png", "http://x/b.png",
    ]);
    expect(dataParams({ ...base, source: "cloud", cloudStorageId: 4, cloudFiles: ["img/"] })).toMatchObject({
      cloud_storage_id: 4, server_files: ["img/"], storage: "cloud_storage",
    });
  });

  it("says what is missing or wrong", () => {
    expect(formProblems(emptyTaskForm(), [])).toEqual([
      "The task needs a name.",
      "Add at least one label, or choose a project.",
      "Choose the files to upload.",
    ]);
    const form = {
      ...emptyTaskForm(7), name: "t", imageQuality: "101", chunkSize: "0", stopFrame: "-1",
      source: "remote" as const, remoteText: "ftp://x/a.png",
    };
    expect(formProblems(form, ["ignored: the project has the labels"])).toEqual([
      "Image quality is a whole number from 0 to 100.",
      "Chunk size is a whole number from 1.",
      "Stop frame is a whole number from 0.",
      "Not an http(s) URL: ftp://x/a.png",
    ]);
  });

  it("reads one URL per line", () => {
    expect(remoteUrls("a\r\n  b  \n\n")).toEqual(["a", "b"]);
  });
});
