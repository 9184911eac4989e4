// What the app needs from the outside, as narrow interfaces: the audit store implements AuditSink.
import type { AuditEntry } from "../audit/store.js";
import type { ProbotOctokit } from "probot";

export type Octokit = ProbotOctokit;

export interface AuditSink {
  /** Must be durable before it returns: the check run is reported only after the decision is recorded. */
  record(entry: AuditEntry): { id: number };
  countAgentPrs(q: { repo: string; agent: string; since: string; until: string; excludePr?: number; tieBreakPr?: number }): number;
  /** The latest decision (canonical JSON) of each PR evaluated at this head commit. */
  latestForHead(repo: string, headSha: string): Array<{ pr: number; decision: string }>;
}

/**
 * Which `governance` check run Governor created for a commit. `intend` is recorded before the create call and `record`
 * after it, so an answer of "none" is a guarantee that no run exists, and the lookup on GitHub can be skipped.
 */
export interface CheckRunLedger {
  /** The run's id; "ask" when it may exist but its id is unknown (look it up on GitHub); "none" when it never was created. */
  lookup(key: string): number | "ask" | "none";
  intend(key: string): void;
  record(key: string, id: number): void;
}

export interface AppDeps {
  audit: AuditSink;
  /** Where check run ids are kept; without one they live in memory and every new commit is looked up on GitHub. */
  checkRuns?: CheckRunLedger;
  /** This app's id: re-run requests for other apps' checks are not ours. */
  appId: number;
  now: () => Date;
}
