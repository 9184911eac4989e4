// The CLI's change source behind the app's seam (src/change/gather.ts): what the evaluator asks for is read, once, and
// recorded as the app records it; what it does not ask for is not read.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildInput, localPolicies } from "../../src/cli/preflight.js";

const POLICY = `version: 1
agents: { presets: [copilot] }
classes:
  migrations: ["db/migrations/**"]
rules:
  - id: migrations-need-dba
    match: { classes: [migrations] }
    action: require_approval
    approvers: { teams: [acme/dba], count: 1 }
default: allow
`;

async function local() {
  const cwd = mkdtempSync(join(tmpdir(), "governor-local-source-"));
  writeFileSync(join(cwd, ".governance.yml"), POLICY);
  return localPolicies({ cwd, env: {}, policy: ".governance.yml", repo: "acme/webapp" });
}

const change = (path: string) => ({
  files: [{ path, status: "modified" as const, additions: 1, deletions: 0 }],
  author: "Copilot",
  authorType: "Bot",
  branch: "copilot/x",
  now: "2026-12-02T12:00:00Z",
  approvedBy: ["bob"],
  team: ["bob:acme/dba", "carol:acme/dba"],
});

describe("governor check's change source", () => {
  it("records team membership only of the reviewers who count, in the teams a gate names, as the app does", async () => {
    const input = await buildInput(await local(), change("db/migrations/001.sql"));
    expect(input.change.team_members).toEqual({ "acme/dba": ["bob"] });
    expect(input.change.reviews.map((r) => r.user.login)).toEqual(["bob"]);
  });

  it("reads no reviews or team members when no gate applies", async () => {
    const input = await buildInput(await local(), change("docs/a.md"));
    expect(input.change.reviews).toEqual([]);
    expect(input.change.team_members).toEqual({});
  });

  it("reads the commit authors once, when the evaluator asks for them", async () => {
    let reads = 0;
    const input = await buildInput(await local(), {
      ...change("docs/a.md"),
      commitAuthors: () => {
        reads++;
        return ["Claude <noreply@anthropic.com>"];
      },
    });
    expect(reads).toBe(1);
    expect(input.change.commit_authors).toEqual(["Claude <noreply@anthropic.com>"]);
  });
});
