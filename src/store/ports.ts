// The stores the core needs, as async ports in domain types. SQLite (one process) and PostgreSQL (several replicas)
// implement the same ports and pass the same contract suite (test/store). No row shapes and no database handle leave
// an implementation: callers see entries, records, deliveries, leases and positions.
import type { AuditEntry, AuditFilters, AuditRow, BudgetPlaces, ChainBreak, RecordedJob, WorkflowJob } from "../audit/store.js";
import type { BudgetPlace } from "./chain.js";

import type { Override } from "../policy/change.js";

export type { AuditEntry, AuditFilters, BudgetPlace, BudgetPlaces, ChainBreak, RecordedJob, WorkflowJob };

/**
 * One decision as the chain holds it: every hashed field, `decision` and `input` as canonical/stored JSON. Identical
 * in both stores, so that the same entries appended in the same order give byte-identical hashes.
 */
export type AuditRecord = AuditRow;

export interface Appended {
  id: number;
  hash: string;
}

export interface VerifyResult {
  rows: number;
  broken: ChainBreak | null;
}

/** What `migrate()` did to one store's schema. */
export interface MigrationReport {
  store: string;
  from: number;
  to: number;
  /** Names of the migrations applied now, oldest first; empty when the schema was current. */
  applied: string[];
}

/** A policy text as stored once, by the SHA-256 of its content. */
export interface StoredPolicyText {
  sha256: string;
  text: string;
}

export interface Reevaluation {
  repo: string;
  pr: number;
  installationId: number | null;
  dueAt: string;
}

export interface AuditLog {
  readonly kind: "sqlite" | "postgres";
  /**
   * Appends decisions as one transaction, all or none, each linked to the previous row's hash (the chain of
   * src/audit/store.ts rowHash). Appends from any number of processes are serialised: the chain never forks. Durable
   * when the promise resolves.
   */
  append(entries: readonly AuditEntry[]): Promise<Appended[]>;
  get(id: number): Promise<AuditRecord | undefined>;
  /** Newest first, `limit` (default 50) rows, policy texts in place. */
  list(filters?: AuditFilters): Promise<AuditRecord[]>;
  /** Oldest first, in bounded memory, policy texts in place: export and replay. */
  iterate(filters?: AuditFilters): AsyncIterable<AuditRecord>;
  /** Rows exactly as stored and hashed (policy texts by reference), oldest first from `afterId`: copy and backup. */
  iterateStored(afterId?: number): AsyncIterable<AuditRecord>;
  /** Every stored policy text (each once): what `iterateStored` rows refer to. */
  policyTexts(): AsyncIterable<StoredPolicyText>;
  /**
   * Takes rows and texts already hashed elsewhere (a copy): each row must link to the current head and match its
   * hash, or nothing of the batch is written. Rows keep their ids and hashes.
   */
  importStored(rows: readonly AuditRecord[], texts: readonly StoredPolicyText[]): Promise<void>;
  latestForPr(repo: string, pr: number): Promise<AuditRecord | undefined>;
  /** The newest row of each PR (`since`/`until` bound which rows count), then the other filters; by repo, pr. */
  latestPerPr(filters?: AuditFilters): AsyncIterable<AuditRecord>;
  /** The latest decision of each PR whose head was `headSha` when it was evaluated, with its row, by PR number. */
  latestForHead(repo: string, headSha: string): Promise<Array<{ pr: number; id: number; hash: string; outcome: string; decision: string }>>;
  /** Agents this PR was governed as and not released from (sticky identity, written with each row), sorted. */
  knownAgents(repo: string, pr: number): Promise<string[]>;
  /** PRs of merge group rows recorded on this base commit (those ahead in a merge queue), ascending. */
  mergeGroupPrs(repo: string, baseSha: string): Promise<number[]>;
  /** Break-glass overrides recorded for this PR at this head commit (AuditSink.overridesFor): its latest decision's with any. */
  overridesFor(repo: string, pr: number, headSha: string): Promise<Override[]>;
  /** Sets (or, with null, clears) when a PR must be evaluated again because a rule's time window opens or closes. */
  scheduleReevaluation(q: Omit<Reevaluation, "dueAt"> & { dueAt: string | null }): Promise<void>;
  /** Re-evaluations due at `now`, oldest first. The caller queues each durably, then clears it. */
  dueReevaluations(now: Date, limit?: number): Promise<Reevaluation[]>;
  /** Removes a re-evaluation once queued; one rescheduled since (another due time) stays. */
  clearReevaluation(q: { repo: string; pr: number; dueAt: string }): Promise<void>;
  /** As AuditStore.countAgentPrs: distinct PRs of the agent opened in [since, until), ties at `until` by PR number. */
  countAgentPrs(q: { repo: string; agent: string; since: string; until: string; excludePr?: number; tieBreakPr?: number }): Promise<number>;
  count(): Promise<number>;
  /** Records a completed workflow job's timing once per job id (a redelivery changes nothing); whether this call did. */
  recordWorkflowJob(job: WorkflowJob): Promise<{ recorded: boolean }>;
  /** Jobs completed in (since, until], in `repo` or across every repository of `owner` (case-insensitive), by job id. */
  workflowJobs(q: { repo?: string; owner?: string; since: string; until: string }): Promise<RecordedJob[]>;
  /** As AuditStore.verify, with the same problems in the same words: chain, structure, budget table, texts, anchors. */
  verify(opts?: { expect?: Array<{ id: number; hash: string }> }): Promise<VerifyResult>;
  migrate(): Promise<MigrationReport>;

  // What the readers (governor audit, simulate, usage) and a copy need beyond the app's path: the same answers from
  // either store, so a trail reads the same wherever it lives.

  /** As `iterate`, each row as stored with its input parsed and its policy texts in place (null without one): replay. */
  iterateParsed(filters?: AuditFilters): AsyncIterable<{ row: AuditRecord; input: unknown }>;
  /** For each key, in order, the newest row with recorded inputs of that PR (without `pr`: of that repository), texts in place. */
  latestEvaluated(keys: ReadonlyArray<{ repo: string; pr?: number }>): Promise<Array<AuditRecord | undefined>>;
  /** Budget places opened in (after, until], by scope, agent, opening time, repo and PR: `governor usage`. */
  budgetPlaces(q: { after: string; until: string }): Promise<BudgetPlace[]>;
  /** Workflow jobs completed in (since, until] in every repository, by job id. */
  allWorkflowJobs(q: { since: string; until: string }): Promise<RecordedJob[]>;
  /** Every recorded workflow job as the webhook described it, by job id after `afterJobId`: copy. */
  storedWorkflowJobs(afterJobId?: number): AsyncIterable<WorkflowJob>;
  /** Records jobs (a copy) as recordWorkflowJob does, each once by job id, in one transaction; how many were new. */
  importWorkflowJobs(jobs: readonly WorkflowJob[]): Promise<number>;
}

export type DeliveryStatus = "queued" | "processing" | "done" | "superseded" | "failed" | "ignored";

/** What receipt decided about a delivery (src/server/relevance.ts Relevance has exactly this shape). */
export interface DeliveryRouting {
  evaluate: boolean;
  why?: string;
  installationId: number | null;
  /** `owner/name#number` (or `owner/name@sha`): deliveries of one key are worked one at a time and coalesce. */
  prKey: string | null;
  headSha: string | null;
}

export interface IncomingDelivery {
  id: string;
  event: string;
  action: string | null;
  payload: string;
  relevance: DeliveryRouting;
}

/** A claim on a delivery: `owner` works it until `expiresAt`, unless it heartbeats. */
export interface Lease {
  owner: string;
  expiresAt: Date;
}

export interface ClaimedDelivery {
  seq: number;
  id: string;
  event: string;
  payload: string;
  installationId: number | null;
  prKey: string | null;
  headSha: string | null;
  /** Including this claim. */
  attempts: number;
  lease: Lease;
}

export interface ClaimRequest {
  /** The claiming replica (stable for the process's life, unique across replicas). */
  owner: string;
  max: number;
  leaseMs: number;
  /** Deliveries of one installation being worked at once, across every replica. */
  installationLimit: number;
}

export interface DeliveryQueue {
  readonly kind: "sqlite" | "postgres";
  /** Stores a delivery before GitHub is answered; `duplicate` for a delivery id already stored. */
  accept(d: IncomingDelivery): Promise<{ status: "queued" | "ignored" | "duplicate" }>;
  /**
   * Leases up to `max` queued deliveries to `owner`, first requeueing deliveries whose lease expired. Never a PR key
   * that is leased (to anyone, live) and never past `installationLimit` leased deliveries of one installation, counted
   * over every replica. Of a PR's queued deliveries only the newest is claimed; the older ones become `superseded`.
   */
  claim(req: ClaimRequest): Promise<ClaimedDelivery[]>;
  /** Extends `owner`'s leases on these deliveries; returns the ids still held (a lost lease is not renewed). */
  heartbeat(owner: string, ids: readonly string[], leaseMs: number): Promise<string[]>;
  /**
   * Ends `owner`'s lease: done, failed, or back to the queue (a retry). False, and nothing changes, when the lease is no
   * longer the owner's (it expired and was reclaimed): the delivery is another replica's now.
   */
  finish(owner: string, id: string, status: "done" | "failed" | "queued", note?: string): Promise<boolean>;
  /** Requeues deliveries whose lease expired, and only those: never work a live replica holds. Returns how many. */
  reclaimExpired(): Promise<number>;
  /**
   * Requeues every delivery `owner` holds: a replica restarted under the same name (GOVERNOR_REPLICA_ID, or the one
   * process of a SQLite file) takes back what its previous life left, at once instead of after the lease.
   */
  releaseOwn(owner: string): Promise<number>;
  /** Queued or leased. */
  depth(): Promise<number>;
  counts(): Promise<Record<DeliveryStatus, number>>;
  statusOf(id: string): Promise<{ status: DeliveryStatus; note: string | null; attempts: number; lease: Lease | null } | undefined>;
  /** Drops finished deliveries older than `before`; returns how many went. */
  prune(before: Date): Promise<number>;
  migrate(): Promise<MigrationReport>;
}

/** The check runs of one commit as one replica sees them. */
export interface OpenCheckRuns {
  /** Runs not known to be completed that this replica may close: its own, or any whose lease expired. */
  ids: number[];
  /** A start that this replica may close was recorded without its id (its create's answer was lost). */
  unknown: boolean;
  /** Runs another replica holds under a live lease: never close these, even when GitHub lists them in progress. */
  heldElsewhere: number[];
  /** Another replica has a live start without an id yet: a GitHub listing cannot tell its run from an abandoned one. */
  pendingElsewhere: boolean;
}

/**
 * src/github/ports.ts CheckRunLedger, with an owner and a lease on every start: a run is closed as cancelled only by
 * the replica that owns its lease, or by anyone after the lease expired.
 */
export interface CheckRunLeases {
  readonly kind: "sqlite" | "postgres";
  open(key: string, owner: string): Promise<OpenCheckRuns>;
  /** Recorded before the create call; the returned token names the start. */
  intend(key: string, owner: string, leaseMs: number): Promise<number>;
  started(token: number, id: number): Promise<void>;
  /** Extends every open run `owner` holds; returns how many. */
  heartbeat(owner: string, leaseMs: number): Promise<number>;
  /** The run is completed (or given up): it no longer needs closing. */
  closed(key: string, id: number): Promise<void>;
  /** Forget the id-less starts of this commit that `owner` may close: GitHub was asked and any such run closed. */
  resolved(key: string, owner: string): Promise<void>;
  migrate(): Promise<MigrationReport>;
}

export interface Reservation {
  /** What the budget counts in, e.g. a repository (`owner/name`) or an org. */
  scope: string;
  agent: string;
  pr: number;
  /** When the PR counts from (its opening time): reservations opened after `at - windowMs` count. */
  at: Date;
  windowMs: number;
}

export interface BudgetCounter {
  readonly kind: "sqlite" | "postgres";
  /**
   * Atomically reserves a place for (scope, agent, pr) and returns its position: 1 + the number of reservations of
   * (scope, agent) for other PRs, already made when this one is, whose `at` lies after `at - windowMs` (no upper bound:
   * a PR opened earlier but reserved later counts those reserved before it, so a staggered burst cannot share a
   * position; this is AuditSink.reserveAgentPr's rule). The position is
   * fixed when first reserved: reserving the same (scope, agent, pr) again returns the stored position (and keeps the
   * first `at`), so re-evaluating a PR never moves it. Reservations of one (scope, agent) are serialised across
   * processes, so of a concurrent burst of N new PRs at one instant exactly one gets each of the positions 1..N, and a
   * budget of `limit` admits exactly those with position <= limit.
   */
  reserve(r: Reservation): Promise<number>;
  /**
   * AuditSink.reserveBudgetPlaces: this PR's places per agent in `repo` and (with `org`) in scope `org:<owner>`, each
   * for 24 hours and 7 days, as AuditStore.reservePlaces counts them (1 + that agent's places in the scope reserved
   * before, opened after `openedAt` minus the window). All in one transaction; fixed once reserved.
   */
  reservePlaces(q: { repo: string; org: string | null; agents: readonly string[]; pr: number; openedAt: string }): Promise<BudgetPlaces>;
  /** Per agent and scope kind, the most PRs reserved in one repository (or org) over the 24 hours before `now` (/metrics). */
  budgetPeaks(now: Date): Promise<Array<{ agent: string; scope: "repo" | "org"; prs: number }>>;
  migrate(): Promise<MigrationReport>;
}

/**
 * Runs work on one commit alone across every replica (PostgreSQL: an advisory lock; SQLite, one process per file: the
 * process's own serialisation suffices). Keeps "a shared head shows the strictest decision" true across replicas.
 */
export interface CommitLocks {
  readonly kind: "sqlite" | "postgres";
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Every store of one process, on one SQLite file or one PostgreSQL database: what `openStores` (src/store/open.ts)
 * returns for either, so callers never ask which.
 */
export interface Stores {
  kind: "sqlite" | "postgres";
  audit: AuditLog;
  queue: DeliveryQueue;
  checkRuns: CheckRunLeases;
  budget: BudgetCounter;
  locks: CommitLocks;
  /**
   * Brings every store's schema up to date and says what was applied. PostgreSQL needs it before first use (replicas
   * may all call it: each step is applied once); SQLite stores migrate as they open, and the first call reports that.
   */
  migrate(): Promise<MigrationReport[]>;
  close(): Promise<void>;
}

/** The audit trail opened to be read (governor audit, simulate, usage): nothing is migrated or written on opening. */
export interface AuditReader {
  kind: "sqlite" | "postgres";
  audit: AuditLog;
  close(): Promise<void>;
}
