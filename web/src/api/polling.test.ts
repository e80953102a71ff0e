import { describe, expect, it } from "vitest";
import { ApiError } from "./client";
import { describeRequest, nextDelay, percent, pollRequest, MAX_POLL_ERRORS } from "./polling";
import type { BackgroundRequest } from "./types";

function rq(status: BackgroundRequest["status"], progress: number | null = null): BackgroundRequest {
  return {
    id: "r1", status, progress, message: "", created_date: "", started_date: null, finished_date: null,
    owner: null, result_url: null, result_id: null,
    operation: { type: "create:task", target: "task", task_id: 1, project_id: null, job_id: null, format: null },
  };
}

function scripted(answers: (BackgroundRequest | Error)[]) {
  const slept: number[] = [];
  let i = 0;
  return {
    slept,
    get: async () => {
      const a = answers[Math.min(i++, answers.length - 1)];
      if (a instanceof Error) throw a;
      return a;
    },
    sleep: async (ms: number) => {
      slept.push(ms);
    },
  };
}

describe("request polling", () => {
  it("backs off while nothing moves, capped", () => {
    const b = { first: 100, factor: 2, max: 500 };
    expect([nextDelay(null, b), nextDelay(100, b), nextDelay(200, b), nextDelay(400, b)]).toEqual([100, 200, 400, 500]);
  });

  it("starts again from the shortest delay when the request moves", async () => {
    const s = scripted([rq("queued"), rq("queued"), rq("queued"), rq("started", 0.5), rq("started", 0.5), rq("finished")]);
    const seen: string[] = [];
    const last = await pollRequest(s.get, {
      sleep: s.sleep, backoff: { first: 100, factor: 2, max: 1000 },
      onUpdate: (r) => seen.push(`${r.status}:${r.progress ?? ""}`),
    });
    expect(last.status).toBe("finished");
    expect(s.slept).toEqual([100, 200, 400, 100, 200]);
    expect(seen).toEqual(["queued:", "queued:", "queued:", "started:0.5", "started:0.5", "finished:"]);
  });

  it("returns a failed request", async () => {
    const s = scripted([rq("started"), rq("failed")]);
    expect((await pollRequest(s.get, { sleep: s.sleep })).status).toBe("failed");
  });

  it("rides out a few transient errors but not a 404", async () => {
    const s = scripted([new ApiError(502, "bad gateway", null), new TypeError("network"), rq("finished")]);
    expect((await pollRequest(s.get, { sleep: s.sleep })).status).toBe("finished");
    const gone = scripted([new ApiError(404, "Request not found.", null)]);
    await expect(pollRequest(gone.get, { sleep: gone.sleep })).rejects.toThrow("Request not found.");
    const down = scripted([new ApiError(503, "down", null)]);
    await expect(pollRequest(down.get, { sleep: down.sleep })).rejects.toThrow("down");
    expect(down.slept.length).toBe(MAX_POLL_ERRORS - 1);
  });

  it("reports progress in percent", () => {
    expect(percent(rq("started", 0.426))).toBe(43);
    expect(percent(rq("queued"))).toBeNull();
    expect(percent(rq("finished", 0.2))).toBe(100);
  });
});

describe("request descriptions", () => {
  const of = (type: string, target: string, extra: Partial<BackgroundRequest["operation"]> = {}) => ({
    ...rq("queued"),
    operation: { type, target, task_id: null, project_id: null, job_id: null, format: null, ...extra },
  });
  it("names the work and its subject", () => {
    expect(describeRequest(of("create:task", "task", { task_id: 4 }))).toBe("Creation of task #4");
    expect(describeRequest(of("export:dataset", "project", { project_id: 2, format: "COCO 1.0" }))).toBe(
      "Export of project #2 (COCO 1.0)",
    );
    expect(describeRequest(of("import:annotations", "job", { job_id: 9, task_id: 3, format: "CVAT 1.1" }))).toBe(
      "Import into job #9 (CVAT 1.1)",
    );
    expect(describeRequest(of("export:backup", "task", { task_id: 1 }))).toBe("Backup of task #1");
    expect(describeRequest(of("import:backup", "project"))).toBe("Restore of a project backup");
  });
});
