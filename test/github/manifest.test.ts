import { readFileSync } from "node:fs";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { GOVERNED_EVENTS } from "../../src/github/events.js";
import { ROOT } from "../helpers/cli.js";

const manifest = load(readFileSync(`${ROOT}app.yml`, "utf8")) as {
  default_events: string[];
  default_permissions: Record<string, string>;
  hook_attributes: { url: string };
};

describe("app.yml", () => {
  it("subscribes to exactly the events Governor evaluates", () => {
    expect([...manifest.default_events].sort()).toEqual(Object.keys(GOVERNED_EVENTS).sort());
  });

  it("asks for the least permissions its calls need, and nothing else", () => {
    expect(manifest.default_permissions).toEqual({
      checks: "write",
      pull_requests: "write",
      issues: "write",
      contents: "read",
      members: "read",
      metadata: "read",
      merge_queues: "read",
      actions: "read",
    });
  });

  it("receives PR comments for /governance release, which it answers on the PR", () => {
    expect(manifest.default_events).toContain("issue_comment");
    expect(manifest.default_permissions).toMatchObject({ issues: "write", pull_requests: "write" });
  });

  it("receives workflow_job events for compute budgets with actions: read, never actions: write by default", () => {
    expect(manifest.default_events).toContain("workflow_job");
    expect(manifest.default_permissions["actions"]).toBe("read");
  });

  it("receives pushes (policy changes) and check run button presses (Override) without any new permission", () => {
    expect(manifest.default_events).toEqual(expect.arrayContaining(["push", "check_run"]));
    expect(GOVERNED_EVENTS.check_run).toContain("requested_action");
    expect(manifest.default_permissions).toMatchObject({ contents: "read", checks: "write" });
  });

  it("points the webhook at the path `governor serve` listens on", () => {
    expect(new URL(manifest.hook_attributes.url).pathname).toBe("/api/github/webhooks");
  });
});
