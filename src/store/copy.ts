// Copies an audit trail from one store to another (SQLite to PostgreSQL, for a move to several replicas) with every
// row's id and hash intact: rows are taken as stored and hashed, never re-recorded, so verify passes on the copy and
// check-run footers on GitHub still name the right rows. A copy that stopped half-way is resumed from the target's head.
// Beside the chain go what budgets and schedules read from the same store: workflow jobs (compute minutes) and the
// time-window re-evaluations still due. The delivery queue and check-run leases are a running server's, not copied.
import type { AuditLog, StoredPolicyText, VerifyResult, WorkflowJob } from "./ports.js";
import { StoreError } from "./errors.js";

export interface CopyResult {
  /** Rows the target already had (a resumed copy) and rows copied now. */
  skipped: number;
  copied: number;
  texts: number;
  /** Workflow jobs the target did not have yet. */
  jobs: number;
  /** Re-evaluations scheduled on the source, now scheduled on the target. */
  reevaluations: number;
  /** Verify on the target after the copy. */
  verified: VerifyResult;
}

export async function copyAuditTrail(from: AuditLog, to: AuditLog, opts: { batch?: number; onProgress?: (copied: number) => void } = {}): Promise<CopyResult> {
  const source = await from.verify();
  // A damaged trail is not moved: its copy would carry the damage under a clean new home.
  if (source.broken) throw new StoreError(`the source trail does not verify (${source.broken.problem}); nothing was copied`, from.kind, "copy");
  const head = (await to.list({ limit: 1 }))[0];
  const skipped = head?.id ?? 0;
  const texts: StoredPolicyText[] = [];
  for await (const t of from.policyTexts()) texts.push(t);
  // Texts first (each once): every row copied after refers only to texts already there. The import checks that the
  // first row links to the target's head, so a target holding another chain is refused, not appended to.
  await to.importStored([], texts);
  const batchSize = opts.batch ?? 500;
  let copied = 0;
  let batch = [];
  for await (const row of from.iterateStored(skipped)) {
    batch.push(row);
    if (batch.length >= batchSize) {
      await to.importStored(batch, []);
      copied += batch.length;
      opts.onProgress?.(copied);
      batch = [];
    }
  }
  if (batch.length > 0) {
    await to.importStored(batch, []);
    copied += batch.length;
    opts.onProgress?.(copied);
  }
  if (skipped > 0 && copied === 0) {
    // Nothing new: the target's head must still be the source's row of that id, or the two chains differ.
    const same = await from.get(skipped);
    if (!same || same.hash !== head?.hash)
      throw new StoreError(`the target's row ${skipped} is not the source's: the target holds another chain`, to.kind, "copy");
  }
  const jobs = await copyWorkflowJobs(from, to, batchSize);
  // Every schedule, due or not: one per PR at most, so a handful.
  const due = await from.dueReevaluations(END_OF_TIME, Number.MAX_SAFE_INTEGER);
  for (const r of due) await to.scheduleReevaluation(r);
  return { skipped, copied, texts: texts.length, jobs, reevaluations: due.length, verified: await to.verify() };
}

/** Later than any due time (ISO text compares as time only within four-digit years). */
const END_OF_TIME = new Date("9999-12-31T23:59:59.999Z");

/** Each job once by id: a resumed copy sends them again and the target keeps the ones it has. */
async function copyWorkflowJobs(from: AuditLog, to: AuditLog, batchSize: number): Promise<number> {
  let added = 0;
  let batch: WorkflowJob[] = [];
  for await (const job of from.storedWorkflowJobs()) {
    batch.push(job);
    if (batch.length >= batchSize) {
      added += await to.importWorkflowJobs(batch);
      batch = [];
    }
  }
  if (batch.length > 0) added += await to.importWorkflowJobs(batch);
  return added;
}
