// What the app needs from the outside, as narrow interfaces: the audit store implements AuditSink.
import type { AuditEntry } from "../audit/store.js";
import type { ProbotOctokit } from "probot";

export type Octokit = ProbotOctokit;

export interface AuditSink {
  /** Must be durable before it returns: the check run is reported only after the decision is recorded. */
  record(entry: AuditEntry): { id: number; hash: string };
  countAgentPrs(q: { repo: string; agent: string; since: string; until: string; excludePr?: number; tieBreakPr?: number }): number;
  /** The latest decision (canonical JSON) of each PR evaluated at this head commit. */
  latestForHead(repo: string, headSha: string): Array<{ pr: number; decision: string }>;
}

/**
 * The `governance` check runs Governor started, per commit, and which it completed. GitHub does not let a completed run
 * change its conclusion, so every evaluation reports on a run of its own; this ledger lets the next one close what an
 * earlier (crashed) evaluation left in progress. `intend` is recorded before the create call and `started` after it.
 */
export interface CheckRunLedger {
  /** Runs of this commit not known to be completed; `unknown` when a create was started but its id never recorded. */
  open(key: string): { ids: number[]; unknown: boolean };
  intend(key: string): number;
  started(token: number, id: number): void;
  /** The run is completed (or given up): it no longer needs closing. Also clears unknown starts up to `token`. */
  closed(key: string, id: number): void;
  /** Forget unknown starts of this commit: GitHub was asked and any such run closed. */
  resolved(key: string): void;
}

export interface AppDeps {
  audit: AuditSink;
  /** Where check run ids are kept; without one they live in memory and every new commit is looked up on GitHub. */
  checkRuns?: CheckRunLedger;
  /** This app's id: re-run requests for other apps' checks are not ours. */
  appId: number;
  now: () => Date;
}
