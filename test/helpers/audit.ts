// Realistic audit entries: real inputs decided by the real evaluator.
import type { AuditEntry } from "../../src/audit/store.js";
import { decide, PolicyCache } from "../../src/policy/decide.js";
import { errorDecision } from "../../src/policy/decide.js";
import { type Case, fixturePolicy, input } from "./policy.js";

const cache = new PolicyCache();
const WEBAPP = fixturePolicy("webapp-monorepo.yml");

export function entryFor(c: Case & { pr?: number; at?: string; delivery?: string }): AuditEntry {
  const i = input({ policy: WEBAPP, ...c, change: { number: c.pr ?? 7, ...c.change }, ...(c.at ? { now: c.at } : {}) });
  const decision = decide(i, cache);
  return {
    recorded_at: i.context.now,
    delivery_id: c.delivery ?? null,
    installation_id: 1,
    repo: `${i.change.repo.owner}/${i.change.repo.name}`,
    pr: i.change.number,
    head_sha: i.change.head_sha,
    base_sha: i.change.base_sha,
    agent: decision.agent?.name ?? null,
    outcome: decision.outcome,
    decision,
    input: i,
  };
}

/** One entry of each outcome. */
export function oneOfEach(): AuditEntry[] {
  // The cause in the form evaluator 1.5 and earlier stored (an English headline): the frozen fixture pins these bytes.
  const failed = errorDecision(
    { code: "error", params: { headline: "GitHub error: GET /repos/acme/webapp/pulls/9/files answered 502" } },
    [{ message: "502 Bad Gateway after 3 retries" }],
    "e".repeat(40),
  );
  return [
    entryFor({ pr: 1, files: ["docs/a.md"] }),
    entryFor({ pr: 2, files: ["db/migrations/1.sql"] }),
    entryFor({ pr: 3, files: ["apps/api/src/billing/x.ts"] }),
    entryFor({ pr: 4, files: ["docs/a.md"], change: { author: { login: "octocat", type: "User" }, head_branch: "feature" } }),
    entryFor({ pr: 5, policy: "version: 1\nrules: [oops]\n" }),
    {
      recorded_at: "2026-11-24T12:00:00.000Z",
      delivery_id: "d-9",
      installation_id: 1,
      repo: "acme/webapp",
      pr: 9,
      head_sha: "e".repeat(40),
      base_sha: "",
      agent: null,
      outcome: "error",
      decision: failed,
      input: null,
      input_missing_reason: "GitHub answered 502 to GET /repos/acme/webapp/pulls/9/files",
    },
  ];
}
