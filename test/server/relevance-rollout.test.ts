// Which pushes and check run buttons the front queues: decided at receipt, so a burst can coalesce.
import { describe, expect, it } from "vitest";
import { relevanceOf } from "../../src/server/relevance.js";

const self = { appId: 1, slug: "governor" };
const push = (o: { repo?: string; ref?: string; files?: string[]; commits?: number; forced?: boolean }) => ({
  ref: o.ref ?? "refs/heads/main",
  forced: o.forced ?? false,
  created: false,
  deleted: false,
  repository: { full_name: `acme/${o.repo ?? "webapp"}`, name: o.repo ?? "webapp", default_branch: "main" },
  installation: { id: 77 },
  commits: Array.from({ length: o.commits ?? 1 }, () => ({ added: [], removed: [], modified: o.files ?? [] })),
});

describe("relevance: policy pushes and the Override button", () => {
  it("skips a push that changes no policy file", () => {
    expect(relevanceOf("push", push({ files: ["src/a.ts"] }), self)).toMatchObject({ evaluate: false, why: "a push that changes no policy file" });
  });

  it("queues a push that changes a repo policy under one key per branch, so a burst coalesces", () => {
    expect(relevanceOf("push", push({ files: [".governance.yml"], ref: "refs/heads/release" }), self)).toMatchObject({
      evaluate: true,
      prKey: "acme/webapp@push:release",
    });
    expect(relevanceOf("push", push({ files: [".github/governance.yml"] }), self).evaluate).toBe(true);
  });

  it("queues a push to the org's .github default branch that changes governance.yml", () => {
    expect(relevanceOf("push", push({ repo: ".github", files: ["governance.yml"] }), self)).toMatchObject({ evaluate: true, prKey: "acme/.github@push:main" });
  });

  it("counts a push whose files it cannot tell (forced, 20 commits or more) as a policy change", () => {
    expect(relevanceOf("push", push({ files: ["a"], forced: true }), self).evaluate).toBe(true);
    expect(relevanceOf("push", push({ files: ["a"], commits: 20 }), self).evaluate).toBe(true);
  });

  it("queues the Override button of Governor's own check as a command, and ignores another app's", () => {
    const press = (appId: number) => ({
      action: "requested_action",
      requested_action: { identifier: "governance-override" },
      check_run: { app: { id: appId }, head_sha: "a".repeat(40), pull_requests: [{ number: 3 }] },
      repository: { full_name: "acme/webapp" },
      installation: { id: 77 },
    });
    expect(relevanceOf("check_run", press(1), self)).toMatchObject({ evaluate: true, prKey: null });
    expect(relevanceOf("check_run", press(2), self).evaluate).toBe(false);
  });
});
