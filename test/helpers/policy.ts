// Builders for evaluation inputs in tests: a realistic default, overridden per case.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ChangeInput, ChangedFile } from "../../src/policy/change.js";
import { decide } from "../../src/policy/decide.js";
import type { Decision } from "../../src/policy/decision.js";
import { type EvaluationInput, EvaluationInputSchema } from "../../src/policy/input.js";

export const HEAD = "a".repeat(40);
export const BASE = "b".repeat(40);
export const NOW = "2026-11-24T12:00:00.000Z";

export function fixturePolicy(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../fixtures/policies/${name}`, import.meta.url)), "utf8");
}

export function file(path: string, extra: Partial<ChangedFile> = {}): ChangedFile {
  return { path, status: "modified", additions: 1, deletions: 1, ...extra };
}

export interface Case {
  policy?: string;
  org?: string;
  change?: Partial<ChangeInput>;
  files?: Array<string | ChangedFile>;
  now?: string;
  prsToday?: number;
}

/** A Copilot PR on acme/webapp against `policy`, changing `files`. */
export function input(c: Case): EvaluationInput {
  return EvaluationInputSchema.parse({
    policies: {
      ...(c.policy !== undefined ? { repo: { text: c.policy, path: ".governance.yml", repo: "acme/webapp", sha: BASE } } : {}),
      ...(c.org !== undefined ? { org: { text: c.org, path: "governance.yml", repo: "acme/.github", sha: "c".repeat(40) } } : {}),
    },
    change: {
      repo: { owner: "acme", name: "webapp" },
      number: 7,
      author: { login: "Copilot", type: "Bot" },
      head_branch: "copilot/fix-7",
      base_branch: "main",
      head_sha: HEAD,
      base_sha: BASE,
      files: (c.files ?? ["README.md"]).map((f) => (typeof f === "string" ? file(f) : f)),
      ...c.change,
    },
    context: { now: c.now ?? NOW, usage: { prs_today: c.prsToday ?? 1 } },
  });
}

export function decideCase(c: Case): Decision {
  return decide(input(c));
}

export function approval(
  login: string,
  extra: { state?: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED"; commit_id?: string; type?: string; at?: string; id?: number } = {},
) {
  return {
    id: extra.id ?? Math.abs(hash(login + (extra.state ?? "") + (extra.at ?? ""))),
    user: { login, type: extra.type ?? "User" },
    state: extra.state ?? "APPROVED",
    commit_id: extra.commit_id ?? HEAD,
    submitted_at: extra.at ?? "2026-11-24T11:00:00Z",
  } as const;
}

function hash(s: string): number {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) | 0;
  return h;
}
