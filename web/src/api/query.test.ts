import { describe, expect, it } from "vitest";
import { apiQuery, changed, emptyQuery, pageCount, readListQuery, writeListQuery } from "./query";

describe("list query", () => {
  it("reads the address bar, ignoring unknown and bad values", () => {
    const q = readListQuery(new URLSearchParams("page=3&page_size=x&search=car&stage=validation&evil=1"), ["stage", "state"]);
    expect(q).toEqual({ page: 3, pageSize: 10, search: "car", sort: "", filters: { stage: "validation" } });
    expect(readListQuery(new URLSearchParams("page=-2&page_size=5000"), []).page).toBe(1);
    expect(readListQuery(new URLSearchParams("page_size=5000"), []).pageSize).toBe(1000);
  });

  it("writes only what differs from the defaults and reads it back", () => {
    const q = { page: 2, pageSize: 20, search: " bus ", sort: "name", filters: { state: "new", stage: "" } };
    const params = writeListQuery(q, "-id");
    expect(params.toString()).toBe("page=2&page_size=20&search=bus&sort=name&state=new");
    expect(readListQuery(params, ["state", "stage"], "-id")).toEqual({ ...q, search: "bus", filters: { state: "new" } });
    expect(writeListQuery(emptyQuery("-id"), "-id").toString()).toBe("");
  });

  it("builds the endpoint's query with fixed parameters", () => {
    const q = { ...emptyQuery(), search: "a b", sort: "-name", filters: { assignee: "bob" } };
    expect(apiQuery(q, { task_id: 4 })).toBe("?page=1&page_size=10&search=a+b&sort=-name&assignee=bob&task_id=4");
  });

  it("starts again at page 1 when the search changes", () => {
    expect(changed({ ...emptyQuery(), page: 5 }, { search: "x" })).toMatchObject({ page: 1, search: "x" });
  });

  it("counts pages", () => {
    expect(pageCount(0, 10)).toBe(1);
    expect(pageCount(21, 10)).toBe(3);
  });
});
