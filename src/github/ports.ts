// What the app needs from the outside, as narrow interfaces: the audit store implements AuditSink.
import type { AuditEntry } from "../audit/store.js";
import type { ProbotOctokit } from "probot";

export type Octokit = ProbotOctokit;

export interface AuditSink {
  /** Must be durable before it returns: the check run is reported only after the decision is recorded. */
  record(entry: AuditEntry): { id: number };
  countAgentPrs(q: { repo: string; agent: string; since: string; until: string; excludePr?: number; tieBreakPr?: number }): number;
}

export interface AppDeps {
  audit: AuditSink;
  /** This app's id: re-run requests for other apps' checks are not ours. */
  appId: number;
  now: () => Date;
}
