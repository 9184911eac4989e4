// The HTTP front: verify, store, answer 202 in milliseconds. Evaluation happens later, from the inbox.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { DeliveryQueue } from "../store/ports.js";
import type { Metrics } from "./metrics.js";
import { relevanceOf, type SelfIdentity } from "./relevance.js";

/** GitHub caps webhook payloads at 25 MB; anything larger is not from GitHub. */
export const MAX_PAYLOAD_BYTES = 25 * 1024 * 1024;

export interface FrontOptions {
  secret: string;
  webhookPath: string;
  /** The shared queue: a delivery is stored (durably, deduplicated) before GitHub is answered. */
  inbox: Pick<DeliveryQueue, "accept">;
  metrics: Metrics;
  self: SelfIdentity;
  /** Called after a delivery is queued, to wake the worker. */
  onQueued: () => void;
  health: () => Promise<{ ok: boolean; detail: Record<string, unknown> }>;
  log: (level: "info" | "warn" | "error", msg: string, extra?: Record<string, unknown>) => void;
  /** The audit dashboard (src/dashboard): true when it answered the request. */
  dashboard?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** The read-only budget endpoint (src/dashboard/budget-api.ts, GOVERNOR_API_TOKENS): true when it answered. */
  budget?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json", extra: Record<string, string> = {}): void {
  const text = type === "application/json" ? JSON.stringify(body) : String(body);
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text), ...extra });
  res.end(text);
}

/** At most this many body bytes are held in memory across all requests at once; beyond, deliveries are refused (503). */
export const MAX_BUFFERED_BYTES = 4 * MAX_PAYLOAD_BYTES;

/**
 * Reads a signed body, hashing it as it arrives: the HMAC is ready when the last byte is, and the body is buffered only
 * within its own cap and the process-wide one (`budget`). Rejects with 413 past the cap and 503 past the budget, and
 * stops reading at once: the rest is never held.
 */
function readSignedBody(req: IncomingMessage, secret: string, budget: { used: number }): Promise<{ body: string; digest: Buffer }> {
  return new Promise((resolve, reject) => {
    const hmac = createHmac("sha256", secret);
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const release = () => {
      budget.used -= size;
      size = 0;
      chunks.length = 0;
    };
    const fail = (error: HttpError) => {
      if (failed) return;
      failed = true;
      release();
      req.removeListener("data", onData);
      req.resume(); // drain, never buffer: the answer goes out with Connection: close
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > MAX_PAYLOAD_BYTES)
        return fail(new HttpError(413, `payload is larger than ${MAX_PAYLOAD_BYTES} bytes (GitHub caps payloads at 25 MB)`));
      if (budget.used + chunk.length > MAX_BUFFERED_BYTES) return fail(new HttpError(503, "too many large deliveries at once; GitHub can redeliver this one"));
      size += chunk.length;
      budget.used += chunk.length;
      hmac.update(chunk);
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => {
      if (failed) return;
      const body = Buffer.concat(chunks).toString("utf8");
      release();
      resolve({ body, digest: hmac.digest() });
    });
    req.on("error", (error) => {
      if (!failed) {
        failed = true;
        release();
        reject(error);
      }
    });
  });
}

/** Answers without reading the body: the connection is closed after the answer, so what is unread is never held. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  res.shouldKeepAlive = false;
  send(res, status, { error: message }, "application/json", { connection: "close" });
  req.resume();
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export function createFront(opts: FrontOptions): Server {
  const buffered = { used: 0 };
  const handleWebhook = async (req: IncomingMessage, res: ServerResponse) => {
    const event = header(req, "x-github-event");
    const id = header(req, "x-github-delivery");
    const signature = header(req, "x-hub-signature-256");
    // Refused before the body is read: an unsigned delivery, or one that says it is larger than GitHub ever sends.
    if (!signature || !/^sha256=[0-9a-f]{64}$/i.test(signature)) {
      opts.metrics.deliveries.inc({ result: "rejected" });
      opts.log("warn", "rejected a webhook without a valid signature header", {});
      return refuse(req, res, 401, signature ? "malformed X-Hub-Signature-256" : "missing X-Hub-Signature-256");
    }
    const declared = Number(header(req, "content-length") ?? NaN);
    if (declared > MAX_PAYLOAD_BYTES)
      return refuse(req, res, 413, `payload of ${declared} bytes is larger than ${MAX_PAYLOAD_BYTES} (GitHub caps payloads at 25 MB)`);
    let read;
    try {
      read = await readSignedBody(req, opts.secret, buffered);
    } catch (error) {
      if (error instanceof HttpError) return refuse(req, res, error.status, error.message);
      throw error;
    }
    const { body, digest } = read;
    // The signature is checked before anything else is believed, including the headers' claims.
    const expected = Buffer.from(signature.slice("sha256=".length), "hex");
    if (expected.length !== digest.length || !timingSafeEqual(expected, digest)) {
      opts.metrics.deliveries.inc({ result: "rejected" });
      throw new HttpError(401, "signature does not match");
    }
    if (!event || !id) throw new HttpError(400, "missing X-GitHub-Event or X-GitHub-Delivery");
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      throw new HttpError(400, "payload is not JSON");
    }
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) throw new HttpError(400, "payload is not a JSON object");
    opts.metrics.received.inc({ event });
    const action = typeof (payload as { action?: unknown }).action === "string" ? (payload as { action: string }).action : null;
    const relevance = relevanceOf(event, payload, opts.self);
    const result = await opts.inbox.accept({ id, event, action, payload: body, relevance });
    if (result.status === "duplicate") opts.metrics.deliveries.inc({ result: "duplicate" });
    if (result.status === "ignored") opts.metrics.deliveries.inc({ result: "ignored" });
    if (result.status === "queued") opts.onQueued();
    send(res, 202, { delivery: id, status: result.status, ...(relevance.why ? { note: relevance.why } : {}) });
  };

  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const route = `${req.method} ${url.pathname}`;
    const work = async () => {
      if (route === `POST ${opts.webhookPath}`) return handleWebhook(req, res);
      if (route === "GET /healthz") {
        const health = await opts.health();
        return send(res, health.ok ? 200 : 503, { status: health.ok ? "ok" : "unhealthy", ...health.detail });
      }
      if (route === "GET /metrics") return send(res, 200, await opts.metrics.registry.metrics(), opts.metrics.registry.contentType);
      if (opts.budget && (await opts.budget(req, res))) return;
      if (opts.dashboard && (await opts.dashboard(req, res))) return;
      throw new HttpError(404, `no route ${route}`);
    };
    work().catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 503;
      if (status >= 500) opts.log("error", "request failed", { route, error: String(error) });
      else if (status === 401) opts.log("warn", "rejected a webhook with a bad signature", { route });
      if (!res.headersSent) send(res, status, { error: error instanceof Error ? error.message : String(error) });
    });
  });
}
