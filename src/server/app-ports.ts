// The app's ports (src/github/ports.ts) on the stores of src/store: the same code on SQLite and on PostgreSQL, so a
// replica's decisions, budget places, identities and check runs are shared with every other replica.
import type { AuditEntry } from "../audit/store.js";
import type { AuditSink, CheckRunLedger, OpenRuns } from "../github/ports.js";
import { groupCommit, type GroupCommitOptions } from "../store/group-commit.js";
import type { AuditLog, BudgetCounter, CheckRunLeases } from "../store/ports.js";

/** An agent's budget counts the PRs opened in the 24 hours before this one (the policy's `limits`, per day). */
export const BUDGET_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface AppPortStores {
  audit: AuditLog;
  budget: BudgetCounter;
  checkRuns: CheckRunLeases;
}

export interface AppPortOptions {
  /** This replica's id: its check-run starts carry it, and only it (or anyone after the lease expired) closes them. */
  owner: string;
  leaseMs: number;
  /** Called after a decision is durable (metrics). */
  onRecorded?: (entry: AuditEntry, row: { id: number; hash: string }) => void;
  /** Decisions finishing together share one audit transaction (src/store/group-commit.ts); false: one each. */
  groupCommit?: false | GroupCommitOptions;
}

export function auditSinkOf(
  stores: AppPortStores,
  opts: Pick<AppPortOptions, "onRecorded" | "groupCommit"> = {},
): AuditSink & Required<Pick<AuditSink, "mergeGroupPrs" | "scheduleReevaluation" | "overridesFor">> {
  const { budget } = stores;
  // Each record still resolves only after its row's transaction committed: the check is reported after that.
  const audit = opts.groupCommit === false ? stores.audit : groupCommit(stores.audit, opts.groupCommit ?? {});
  return {
    async record(entry) {
      const [row] = await audit.append([entry]);
      if (!row) throw new Error("the audit log wrote nothing for a decision");
      opts.onRecorded?.(entry, row);
      return row;
    },
    async reserveAgentPr(q) {
      const at = new Date(q.openedAt);
      if (Number.isNaN(at.getTime())) throw new Error(`cannot reserve a budget place: the PR's opening time ${JSON.stringify(q.openedAt)} is not a time`);
      const out: Record<string, number> = {};
      // One agent after another, each atomic across replicas (a place, once reserved, never moves).
      for (const agent of [...new Set(q.agents)].sort()) out[agent] = await budget.reserve({ scope: q.repo, agent, pr: q.pr, at, windowMs: BUDGET_WINDOW_MS });
      return out;
    },
    reserveBudgetPlaces: (q) => budget.reservePlaces(q),
    recordWorkflowJob: (job) => audit.recordWorkflowJob(job),
    workflowJobs: (q) => audit.workflowJobs(q),
    knownAgents: (repo, pr) => audit.knownAgents(repo, pr),
    latestForHead: (repo, headSha) => audit.latestForHead(repo, headSha),
    mergeGroupPrs: (repo, baseSha) => audit.mergeGroupPrs(repo, baseSha),
    scheduleReevaluation: (q) => audit.scheduleReevaluation(q),
    overridesFor: (repo, pr, headSha) => audit.overridesFor(repo, pr, headSha),
  };
}

export function checkRunLedgerOf(leases: CheckRunLeases, opts: Pick<AppPortOptions, "owner" | "leaseMs">): CheckRunLedger {
  return {
    async open(key): Promise<OpenRuns> {
      return leases.open(key, opts.owner);
    },
    intend: (key) => leases.intend(key, opts.owner, opts.leaseMs),
    started: (token, id) => leases.started(token, id),
    closed: (key, id) => leases.closed(key, id),
    resolved: (key) => leases.resolved(key, opts.owner),
  };
}
