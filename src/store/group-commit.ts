// Group commit for the audit log: decisions that finish together share one append (one transaction, one flush; on
// PostgreSQL the chain's advisory lock taken once). Each caller's promise resolves only after that transaction has
// committed, so a decision is still durable before its check is reported; if the transaction fails, every caller in it
// is rejected (none of their entries was written) and none of their checks can be reported as passing.
import { StoreError } from "./errors.js";
import type {
  Appended,
  AuditEntry,
  AuditFilters,
  AuditLog,
  AuditRecord,
  BudgetPlace,
  MigrationReport,
  RecordedJob,
  Reevaluation,
  StoredPolicyText,
  VerifyResult,
  WorkflowJob,
} from "./ports.js";
import type { Override } from "../policy/change.js";

/** A shared transaction failed: nothing of it was written, and each caller that was in it gets this error. */
export class GroupCommitError extends StoreError {
  override name = "GroupCommitError";
  constructor(
    message: string,
    store: string,
    /** Entries in the failed transaction, from how many callers. */
    readonly entries: number,
    readonly callers: number,
    options?: { cause?: unknown },
  ) {
    super(message, store, "append", options);
  }
}

export interface GroupCommitOptions {
  /** Most entries in one transaction (a single caller's larger append still goes whole, alone). Default 256. */
  maxEntries?: number;
  /** Called after each shared transaction committed (metrics, tests). */
  onCommit?: (batch: { entries: number; callers: number }) => void;
}

interface Waiting {
  entries: readonly AuditEntry[];
  resolve: (rows: Appended[]) => void;
  reject: (error: Error) => void;
}

/**
 * An AuditLog whose appends are gathered: an append waits for the current turn of the event loop to end (decisions
 * finishing in the same turn join it) or for the transaction in flight to commit (those arriving meanwhile join the
 * next), then goes to the store with the others as one append, in the order they were called. Every other method is
 * the store's own.
 */
export class GroupCommitAuditLog implements AuditLog {
  readonly kind: AuditLog["kind"];
  private readonly maxEntries: number;
  private waiting: Waiting[] = [];
  private scheduled = false;
  private flushing = false;

  constructor(
    private readonly inner: AuditLog,
    private readonly opts: GroupCommitOptions = {},
  ) {
    this.kind = inner.kind;
    this.maxEntries = Math.max(1, opts.maxEntries ?? 256);
  }

  append(entries: readonly AuditEntry[]): Promise<Appended[]> {
    if (entries.length === 0) return Promise.resolve([]);
    return new Promise<Appended[]>((resolve, reject) => {
      this.waiting.push({ entries, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // setImmediate runs after the I/O callbacks of this turn: the decisions they finish join the same transaction.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.waiting.length > 0) await this.commit(this.take());
    } finally {
      this.flushing = false;
    }
  }

  /** The oldest waiting appends, up to maxEntries entries (at least one append, whatever its size). */
  private take(): Waiting[] {
    let n = 0;
    let count = 0;
    for (const w of this.waiting) {
      if (count > 0 && n + w.entries.length > this.maxEntries) break;
      n += w.entries.length;
      count++;
    }
    return this.waiting.splice(0, count);
  }

  private async commit(batch: Waiting[]): Promise<void> {
    const entries = batch.flatMap((w) => w.entries);
    let rows: Appended[];
    try {
      rows = await this.inner.append(entries);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      const failure = new GroupCommitError(
        `${this.kind}: the shared audit transaction of ${entries.length} decision(s) from ${batch.length} caller(s) failed, none was written: ${detail}`,
        this.kind,
        entries.length,
        batch.length,
        { cause: error },
      );
      for (const w of batch) w.reject(failure);
      return;
    }
    if (rows.length !== entries.length) {
      const failure = new GroupCommitError(
        `${this.kind}: the audit log answered ${rows.length} row(s) for ${entries.length} decision(s); their checks are not reported`,
        this.kind,
        entries.length,
        batch.length,
      );
      for (const w of batch) w.reject(failure);
      return;
    }
    try {
      this.opts.onCommit?.({ entries: entries.length, callers: batch.length });
    } catch {
      // An observer's failure must not strand the callers: their rows are committed either way.
    }
    let at = 0;
    for (const w of batch) {
      w.resolve(rows.slice(at, at + w.entries.length));
      at += w.entries.length;
    }
  }

  get(id: number): Promise<AuditRecord | undefined> {
    return this.inner.get(id);
  }
  list(filters?: AuditFilters): Promise<AuditRecord[]> {
    return this.inner.list(filters);
  }
  iterate(filters?: AuditFilters): AsyncIterable<AuditRecord> {
    return this.inner.iterate(filters);
  }
  iterateStored(afterId?: number): AsyncIterable<AuditRecord> {
    return this.inner.iterateStored(afterId);
  }
  policyTexts(): AsyncIterable<StoredPolicyText> {
    return this.inner.policyTexts();
  }
  importStored(rows: readonly AuditRecord[], texts: readonly StoredPolicyText[]): Promise<void> {
    return this.inner.importStored(rows, texts);
  }
  latestForPr(repo: string, pr: number): Promise<AuditRecord | undefined> {
    return this.inner.latestForPr(repo, pr);
  }
  latestPerPr(filters?: AuditFilters): AsyncIterable<AuditRecord> {
    return this.inner.latestPerPr(filters);
  }
  latestForHead(repo: string, headSha: string): Promise<Array<{ pr: number; id: number; hash: string; outcome: string; decision: string }>> {
    return this.inner.latestForHead(repo, headSha);
  }
  knownAgents(repo: string, pr: number): Promise<string[]> {
    return this.inner.knownAgents(repo, pr);
  }
  mergeGroupPrs(repo: string, baseSha: string): Promise<number[]> {
    return this.inner.mergeGroupPrs(repo, baseSha);
  }
  overridesFor(repo: string, pr: number, headSha: string): Promise<Override[]> {
    return this.inner.overridesFor(repo, pr, headSha);
  }
  scheduleReevaluation(q: Omit<Reevaluation, "dueAt"> & { dueAt: string | null }): Promise<void> {
    return this.inner.scheduleReevaluation(q);
  }
  dueReevaluations(now: Date, limit?: number): Promise<Reevaluation[]> {
    return this.inner.dueReevaluations(now, limit);
  }
  clearReevaluation(q: { repo: string; pr: number; dueAt: string }): Promise<void> {
    return this.inner.clearReevaluation(q);
  }
  countAgentPrs(q: { repo: string; agent: string; since: string; until: string; excludePr?: number; tieBreakPr?: number }): Promise<number> {
    return this.inner.countAgentPrs(q);
  }
  count(): Promise<number> {
    return this.inner.count();
  }
  recordWorkflowJob(job: WorkflowJob): Promise<{ recorded: boolean }> {
    return this.inner.recordWorkflowJob(job);
  }
  workflowJobs(q: { repo?: string; owner?: string; since: string; until: string }): Promise<RecordedJob[]> {
    return this.inner.workflowJobs(q);
  }
  verify(opts?: { expect?: Array<{ id: number; hash: string }> }): Promise<VerifyResult> {
    return this.inner.verify(opts);
  }
  migrate(): Promise<MigrationReport> {
    return this.inner.migrate();
  }
  iterateParsed(filters?: AuditFilters): AsyncIterable<{ row: AuditRecord; input: unknown }> {
    return this.inner.iterateParsed(filters);
  }
  latestEvaluated(keys: ReadonlyArray<{ repo: string; pr?: number }>): Promise<Array<AuditRecord | undefined>> {
    return this.inner.latestEvaluated(keys);
  }
  budgetPlaces(q: { after: string; until: string }): Promise<BudgetPlace[]> {
    return this.inner.budgetPlaces(q);
  }
  allWorkflowJobs(q: { since: string; until: string }): Promise<RecordedJob[]> {
    return this.inner.allWorkflowJobs(q);
  }
  storedWorkflowJobs(afterJobId?: number): AsyncIterable<WorkflowJob> {
    return this.inner.storedWorkflowJobs(afterJobId);
  }
  importWorkflowJobs(jobs: readonly WorkflowJob[]): Promise<number> {
    return this.inner.importWorkflowJobs(jobs);
  }
}

/** The store with group commit in front of its appends. */
export function groupCommit(inner: AuditLog, opts: GroupCommitOptions = {}): GroupCommitAuditLog {
  return new GroupCommitAuditLog(inner, opts);
}
