import { describe, expect, it } from "vitest";
import { nextPage } from "./paths";

describe("next page after sign in", () => {
  it("goes back to the page asked for", () => {
    expect(nextPage("?next=%2Ftasks%2F3%3Fpage%3D2")).toBe("/tasks/3?page=2");
  });
  it("never leaves the site nor loops to sign in", () => {
    for (const bad of ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/auth/login", "", "tasks"]) {
      expect(nextPage(`?next=${encodeURIComponent(bad)}`)).toBe("/tasks");
    }
    expect(nextPage("")).toBe("/tasks");
  });
});
