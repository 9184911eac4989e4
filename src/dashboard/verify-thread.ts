// Runs verify-worker.ts off the main thread and answers with its result. From the compiled package the worker is the
// .js beside this file; from the TypeScript sources (tests, tsx) the worker first registers tsx, a dev dependency.
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { VerifyReply, VerifyRequest } from "./verify-worker.js";

export class VerifyThreadError extends Error {
  override name = "VerifyThreadError";
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

function startWorker(request: VerifyRequest): Worker {
  const fromSource = fileURLToPath(import.meta.url).endsWith(".ts");
  const script = new URL(`./verify-worker.${fromSource ? "ts" : "js"}`, import.meta.url);
  if (!fromSource) return new Worker(script, { workerData: request });
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then((t) => (t.register(), import(${JSON.stringify(script.href)})))`;
  return new Worker(code, { eval: true, workerData: request });
}

/** The chain's verification of the audit file at `path`, read-only, in a worker thread: the event loop stays free. */
export function verifyInThread(path: string): Promise<{ rows: number; broken: { id: number | null; problem: string } | null }> {
  return new Promise((resolve, reject) => {
    const worker = startWorker({ path });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    worker.once("message", (reply: VerifyReply) =>
      settle(() =>
        reply.ok ? resolve({ rows: reply.rows, broken: reply.broken }) : reject(new VerifyThreadError(`verification failed: ${reply.error}`, path)),
      ),
    );
    worker.once("error", (error) => settle(() => reject(new VerifyThreadError(`verification thread failed: ${error.message}`, path))));
    worker.once("exit", (code) => settle(() => reject(new VerifyThreadError(`verification thread exited (${code}) without an answer`, path))));
  });
}
