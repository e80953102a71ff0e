import { describe, expect, it } from "vitest";
import { errorMessage } from "./client";

describe("errorMessage", () => {
  it("uses CVAT's detail", () => {
    expect(errorMessage({ detail: "Not found." }, 404)).toBe("Not found.");
  });
  it("joins field errors", () => {
    expect(errorMessage({ name: ["This field is required."], labels: ["bad"] }, 400)).toBe(
      "name: This field is required.; labels: bad",
    );
  });
  it("shows form-wide messages without their key", () => {
    expect(errorMessage({ non_field_errors: ["Unable to log in with provided credentials."] }, 400)).toBe(
      "Unable to log in with provided credentials.",
    );
  });
  it("falls back to the status", () => {
    expect(errorMessage("", 502)).toBe("Request failed (502)");
  });
});
