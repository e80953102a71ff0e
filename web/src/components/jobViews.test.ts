import { describe, expect, it } from "vitest";
import { emptyQuery } from "../api/query";
import { currentView, jobViews, showView } from "./jobViews";

describe("job list views", () => {
  const views = jobViews("ada");

  it("a view sets exactly its filters, keeps the search and goes to page 1", () => {
    const before = { ...emptyQuery(), page: 3, search: "street", filters: { state: "new" } };
    const review = showView(before, views[2]);
    expect(review).toEqual({ ...before, page: 1, filters: { assignee: "ada", stage: "validation" } });
    expect(showView(review, views[0]).filters).toEqual({});
  });

  it("knows which view the filters are, ignoring empty ones", () => {
    const q = (filters: Record<string, string>) => ({ ...emptyQuery(), filters });
    expect(currentView(q({ assignee: "ada" }), views)?.id).toBe("mine");
    expect(currentView(q({ stage: "validation", assignee: "ada", state: "" }), views)?.id).toBe("review");
    expect(currentView(q({}), views)?.id).toBe("all");
    expect(currentView(q({ assignee: "bob" }), views)).toBeNull();
    expect(currentView(q({ assignee: "ada", state: "new" }), views)).toBeNull();
  });
});
