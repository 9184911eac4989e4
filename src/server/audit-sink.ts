// The app's AuditSink over the SQLite audit store, in one place for `serve` and `reconcile`.
import type { AuditEntry, AuditStore } from "../audit/store.js";
import type { AuditSink } from "../github/ports.js";

/** `onRecord` sees every decision once it is durable (metrics, the decision log line). */
export function auditSinkOf(store: AuditStore, onRecord?: (entry: AuditEntry, row: { id: number; hash: string }) => void): AuditSink {
  return {
    record: (entry) => {
      const row = store.record(entry);
      onRecord?.(entry, row);
      return row;
    },
    reserveAgentPr: (q) => store.reserveAgentPr(q),
    reserveBudgetPlaces: (q) => store.reserveBudgetPlaces(q),
    recordWorkflowJob: (job) => store.recordWorkflowJob(job),
    workflowJobs: (q) => store.workflowJobs(q),
    knownAgents: (repo, pr) => store.knownAgents(repo, pr),
    mergeGroupPrs: (repo, baseSha) => store.mergeGroupPrs(repo, baseSha),
    latestForHead: (repo, headSha) => store.latestForHead(repo, headSha),
    scheduleReevaluation: (q) => store.scheduleReevaluation(q),
    overridesFor: (repo, pr, headSha) => store.overridesFor(repo, pr, headSha),
  };
}
