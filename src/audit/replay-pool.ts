// Replay of a whole trail on every core: rows are read here as stored, in order, and parsed and evaluated again by
// worker threads; the results come back in the order of the rows. Evaluating is most of a replay's cost, and each row
// is independent of the others.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { resolveReferences, textLookup } from "../store/policy-refs.js";
import type { StoredPolicyText } from "../store/ports.js";
import { type ReplayedRow, type ReplayResult, Replayer } from "./replay.js";
import type { ReplayMessage } from "./replay-worker.js";

export interface ReplayOptions {
  /** Worker threads; default one per core. With 1, or fewer rows than `minRows`, rows are replayed in this thread. */
  workers?: number;
  /** Below this many rows the workers' start costs more than they save. Default 2,000. */
  minRows?: number;
  /** Rows sent to a worker at a time. Default 256. */
  batch?: number;
}

type Many<T> = Iterable<T> | AsyncIterable<T>;

interface Pending<R> {
  rows: R[];
  results: Promise<ReplayResult[]>;
}

/**
 * The worker's module beside this one: compiled (dist/); or, when this runs from source (the tests), through tsx's
 * loader registered in the worker first (a worker does not inherit the loader hooks of the thread that starts it).
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./replay-worker.js", import.meta.url));
  const source = JSON.stringify(new URL("./replay-worker.ts", import.meta.url).href);
  return new Worker(`import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${source}); });`, { eval: true });
}

/** Iterates either kind of iterable with one `next`. */
function iteratorOf<T>(items: Many<T>): { next: () => Promise<IteratorResult<T>> } {
  if (Symbol.asyncIterator in items) {
    const it = items[Symbol.asyncIterator]();
    return { next: () => it.next() };
  }
  const it = items[Symbol.iterator]();
  return { next: () => Promise.resolve(it.next()) };
}

/** What replay reads of a row: all that crosses to a worker. */
const replayed = (row: ReplayedRow): ReplayedRow => ({
  id: row.id,
  decision: row.decision,
  input: row.input,
  input_missing_reason: row.input_missing_reason,
  evaluator_version: row.evaluator_version,
});

/**
 * Each row as stored (policy texts by reference, as AuditLog.iterateStored gives them) with its replay result, in the
 * order of `rows`; `texts` are the trail's policy texts (AuditLog.policyTexts). Memory stays bounded: at most two
 * batches a worker are in flight. A worker that fails ends the replay with its error; the workers are stopped however
 * the caller stops.
 */
export async function* replayStored<R extends ReplayedRow>(
  rows: Many<R>,
  texts: Many<StoredPolicyText>,
  opts: ReplayOptions = {},
): AsyncGenerator<{ row: R; result: ReplayResult }> {
  const workers = Math.max(1, opts.workers ?? availableParallelism());
  const minRows = opts.minRows ?? 2_000;
  const size = Math.max(1, opts.batch ?? 256);
  const byHash = new Map<string, string>();
  for await (const t of texts) byHash.set(t.sha256, t.text);
  const iterator = iteratorOf(rows);
  const head: R[] = [];
  let ended = false;
  while (head.length < minRows) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(next.value);
  }
  if (ended || workers === 1) {
    const replayer = new Replayer();
    const text = textLookup(byHash);
    const one = (row: R) => ({ row, result: replayer.replay(row, row.input === null ? undefined : resolveReferences(JSON.parse(row.input), text)) });
    for (const row of head) yield one(row);
    if (ended) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield one(next.value);
    return;
  }

  const pool = Array.from({ length: workers }, startWorker);
  const waiting = new Map<number, { resolve: (r: ReplayResult[]) => void; reject: (e: Error) => void }>();
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    for (const w of waiting.values()) w.reject(failure);
    waiting.clear();
  };
  const all: ReplayMessage = { texts: [...byHash] };
  for (const worker of pool) {
    worker.on("message", (m: { seq: number; results: ReplayResult[] }) => {
      waiting.get(m.seq)?.resolve(m.results);
      waiting.delete(m.seq);
    });
    worker.on("error", (error) => fail(error));
    worker.on("exit", (code) => {
      if (code !== 0) fail(new Error(`a replay worker stopped (exit code ${code})`));
    });
    worker.postMessage(all);
  }
  let seq = 0;
  const send = (batch: R[]): Pending<R> => {
    const n = seq++;
    const results = new Promise<ReplayResult[]>((resolve, reject) => {
      if (failure) return reject(failure);
      waiting.set(n, { resolve, reject });
    });
    // A failure is reported when its batch's turn comes, never as an unhandled rejection.
    results.catch(() => undefined);
    const message: ReplayMessage = { seq: n, rows: batch.map(replayed) };
    pool[n % workers]!.postMessage(message);
    return { rows: batch, results };
  };
  const pending: Array<Pending<R>> = [];
  async function* ready(upTo: number): AsyncGenerator<{ row: R; result: ReplayResult }> {
    while (pending.length > upTo) {
      const p = pending.shift()!;
      const results = await p.results;
      for (let i = 0; i < p.rows.length; i++) yield { row: p.rows[i]!, result: results[i]! };
    }
  }
  try {
    let batch: R[] = [];
    const add = (row: R): boolean => {
      batch.push(row);
      if (batch.length < size) return false;
      pending.push(send(batch));
      batch = [];
      return true;
    };
    for (const row of head) if (add(row)) yield* ready(2 * workers - 1);
    head.length = 0;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) if (add(next.value)) yield* ready(2 * workers - 1);
    if (batch.length > 0) pending.push(send(batch));
    yield* ready(0);
  } finally {
    // However the caller stops (the end, an error, a break): no thread is left running.
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
