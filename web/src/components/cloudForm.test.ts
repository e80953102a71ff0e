import { describe, expect, it } from "vitest";
import type { CloudStorage } from "../api/types";
import { cloudBody, cloudFormOf, cloudProblems, emptyCloudForm } from "./cloudForm";

const stored: CloudStorage = {
  id: 3, display_name: "frames", provider_type: "AWS_S3_BUCKET", resource: "bucket-a", manifests: ["m.jsonl"],
  owner: null, description: "raw", created_date: "", credentials_type: "KEY_SECRET_KEY_PAIR",
  specific_attributes: "endpoint_url=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1",
};

describe("cloud storage form", () => {
  it("makes CVAT's create body with the S3 settings as specific_attributes", () => {
    const body = cloudBody({
      ...emptyCloudForm(), displayName: " frames ", resource: "bucket-a", key: "AK", secretKey: "SK",
      endpointUrl: "http://127.0.0.1:9000", region: "eu-west-1", manifests: "m.jsonl\n\n",
    });
    expect(body).toEqual({
      provider_type: "AWS_S3_BUCKET", display_name: "frames", resource: "bucket-a",
      credentials_type: "KEY_SECRET_KEY_PAIR", key: "AK", secret_key: "SK", description: "",
      specific_attributes: "endpoint_url=http://127.0.0.1:9000&region=eu-west-1", manifests: ["m.jsonl"],
    });
  });

  it("reads a stored storage back and sends no secret on an edit unless typed", () => {
    const form = cloudFormOf(stored);
    expect([form.endpointUrl, form.region, form.manifests, form.key]).toEqual(["http://127.0.0.1:9000", "eu-west-1", "m.jsonl", ""]);
    expect(cloudProblems(form, stored)).toEqual([]);
    const body = cloudBody({ ...form, displayName: "renamed" }, stored);
    expect(body).not.toHaveProperty("key");
    expect(body).not.toHaveProperty("provider_type");
    expect(new URLSearchParams(body.specific_attributes).get("endpoint_url")).toBe("http://127.0.0.1:9000");
    // What would change the parse is escaped, and reads back the same.
    const odd = cloudBody({ ...form, prefix: "a&b=c+d%/" }, stored).specific_attributes ?? "";
    expect(cloudFormOf({ ...stored, specific_attributes: odd }).prefix).toBe("a&b=c+d%/");
    expect(cloudBody({ ...form, secretKey: "new" }, stored).secret_key).toBe("new");
  });

  it("names what is missing or wrong", () => {
    expect(cloudProblems(emptyCloudForm())).toEqual([
      "Give the storage a display name.",
      "Name the bucket.",
      "Give the access key and the secret key.",
    ]);
    const anonymous = { ...emptyCloudForm(), displayName: "a", resource: "b", credentialsType: "ANONYMOUS_ACCESS" as const };
    expect(cloudProblems({ ...anonymous, endpointUrl: "s3.example.com", prefix: "/x" })).toEqual([
      "The endpoint is an http(s) URL, e.g. https://s3.example.com.",
      "The prefix cannot start with a slash.",
    ]);
    // Switching an anonymous storage to keys needs both keys.
    expect(cloudProblems({ ...cloudFormOf({ ...stored, credentials_type: "ANONYMOUS_ACCESS" }), credentialsType: "KEY_SECRET_KEY_PAIR" }, { ...stored, credentials_type: "ANONYMOUS_ACCESS" })).toHaveLength(1);
  });
});
