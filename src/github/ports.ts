// What the app needs from the outside, as narrow async interfaces: src/server/app-ports.ts implements them on src/store
// (SQLite or PostgreSQL), so several replicas can share them.
import type { AuditEntry, BudgetPlaces, RecordedJob, WorkflowJob } from "../audit/store.js";
import type { Override } from "../policy/change.js";
import type { ProbotOctokit } from "probot";

export type Octokit = ProbotOctokit;

export interface AuditSink {
  /** Must be durable before it returns: the check run is reported only after the decision is recorded. */
  record(entry: AuditEntry): Promise<{ id: number; hash: string }>;
  /**
   * Reserves this PR's place in each agent's budget, atomically, and returns its position per agent (1 = the agent's
   * first PR). The first call for (repo, agent, pr) fixes the position at 1 + the number of that agent's PRs in `repo`
   * reserved before it whose opening lies after `openedAt` minus 24 hours; every later call returns the same number.
   * Reading the count and reserving are one step: concurrent callers, in any number of processes, get distinct positions.
   */
  reserveAgentPr(q: { repo: string; agents: readonly string[]; pr: number; openedAt: string }): Promise<Record<string, number>>;
  /**
   * The same reservation, generalised: this PR's place in each agent's budgets per window (24 hours, 7 days), in `repo`
   * and, with `org`, across every repository of that owner (scope `org:<owner>`). One transaction for all of them.
   */
  reserveBudgetPlaces(q: { repo: string; org: string | null; agents: readonly string[]; pr: number; openedAt: string }): Promise<BudgetPlaces>;
  /** Records a completed workflow job's timing, once per job id (redeliveries change nothing). */
  recordWorkflowJob(job: WorkflowJob): Promise<{ recorded: boolean }>;
  /** Jobs completed in (since, until], in `repo` or across every repository of `owner`. */
  workflowJobs(q: { repo?: string; owner?: string; since: string; until: string }): Promise<RecordedJob[]>;
  /** Agents this PR was governed as before and not released from (sticky identity), sorted. */
  knownAgents(repo: string, pr: number): Promise<string[]>;
  /** The latest decision (canonical JSON) of each PR evaluated at this head commit, with its audit row. */
  latestForHead(repo: string, headSha: string): Promise<Array<{ pr: number; id: number; hash: string; decision: string }>>;
  /** PRs of merge groups recorded on this base commit (the PRs ahead in a merge queue), ascending. */
  mergeGroupPrs?(repo: string, baseSha: string): Promise<number[]>;
  /** Break-glass overrides recorded for this PR at this head commit (see `/governance override`). */
  overridesFor?(repo: string, pr: number, headSha: string): Promise<Override[]>;
  /** When a rule's time window next opens or closes for this PR (null: never): it is evaluated again then. */
  scheduleReevaluation?(q: { repo: string; pr: number; installationId: number | null; dueAt: string | null }): Promise<void>;
}

/**
 * The `governance` check runs Governor started, per commit, and which it completed. GitHub does not let a completed run
 * change its conclusion, so every evaluation reports on a run of its own; this ledger lets the next one close what an
 * earlier (crashed) evaluation left in progress. `intend` is recorded before the create call and `started` after it.
 */
export interface OpenRuns {
  ids: number[];
  unknown: boolean;
  /** Runs another replica holds under a live lease: never closed here, even when GitHub lists them in progress. */
  heldElsewhere?: number[];
  /** Another replica has a live start without an id yet: a GitHub listing cannot tell its run from an abandoned one. */
  pendingElsewhere?: boolean;
}

export interface CheckRunLedger {
  /** Runs of this commit not known to be completed; `unknown` when a create was started but its id never recorded. */
  open(key: string): Promise<OpenRuns>;
  intend(key: string): Promise<number>;
  started(token: number, id: number): Promise<void>;
  /** The run is completed (or given up): it no longer needs closing. Also clears unknown starts up to `token`. */
  closed(key: string, id: number): Promise<void>;
  /** Forget unknown starts of this commit: GitHub was asked and any such run closed. */
  resolved(key: string): Promise<void>;
}

export interface AppDeps {
  audit: AuditSink;
  /** Where check run ids are kept; without one they live in memory and every new commit is looked up on GitHub. */
  checkRuns?: CheckRunLedger;
  /**
   * Runs a commit's report alone across every replica (src/store CommitLocks); without one, reports are serialised in
   * this process only, which is enough for one process.
   */
  commitLock?: <T>(key: string, fn: () => Promise<T>) => Promise<T>;
  /** This app's id: re-run requests for other apps' checks are not ours. */
  appId: number;
  now: () => Date;
  /** GOVERNOR_REQUIRE_ORG_POLICY: a PR whose org's `.github` repository Governor cannot see fails closed. */
  requireOrgPolicy?: boolean;
}
