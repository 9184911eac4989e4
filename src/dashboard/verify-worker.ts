// The chain verification of one SQLite audit file, in a worker thread: it reads and hashes every row (about 2.6 s per
// 100,000), which on the main thread would hold up every request `serve` or the dashboard answers meanwhile.
import { parentPort, workerData } from "node:worker_threads";
import { openAuditStore } from "../audit/store.js";

export interface VerifyRequest {
  path: string;
}

export type VerifyReply = { ok: true; rows: number; broken: { id: number | null; problem: string } | null } | { ok: false; error: string };

const { path } = workerData as VerifyRequest;
let reply: VerifyReply;
try {
  const store = openAuditStore(path, { readonly: true });
  try {
    const result = store.verify();
    reply = { ok: true, rows: result.rows, broken: result.broken };
  } finally {
    store.close();
  }
} catch (error) {
  reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
}
parentPort?.postMessage(reply);
