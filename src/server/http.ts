// The HTTP front: verify, store, answer 202 in milliseconds. Evaluation happens later, from the inbox.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { verify } from "@octokit/webhooks-methods";
import type { Inbox } from "./inbox.js";
import type { Metrics } from "./metrics.js";
import { relevanceOf, type SelfIdentity } from "./relevance.js";

/** GitHub caps webhook payloads at 25 MB; anything larger is not from GitHub. */
export const MAX_PAYLOAD_BYTES = 25 * 1024 * 1024;

export interface FrontOptions {
  secret: string;
  webhookPath: string;
  inbox: Inbox;
  metrics: Metrics;
  self: SelfIdentity;
  /** Called after a delivery is queued, to wake the worker. */
  onQueued: () => void;
  health: () => { ok: boolean; detail: Record<string, unknown> };
  log: (level: "info" | "warn" | "error", msg: string, extra?: Record<string, unknown>) => void;
  /** The audit dashboard (src/dashboard): true when it answered the request. */
  dashboard?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json"): void {
  const text = type === "application/json" ? JSON.stringify(body) : String(body);
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** The body, or a 413 once it passes the limit; the rest is read and dropped so the client gets the answer, not a reset. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_PAYLOAD_BYTES) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.on("end", () => {
      if (size > MAX_PAYLOAD_BYTES) reject(new HttpError(413, `payload of ${size} bytes is larger than ${MAX_PAYLOAD_BYTES} (GitHub caps payloads at 25 MB)`));
      else resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", reject);
  });
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export function createFront(opts: FrontOptions): Server {
  const handleWebhook = async (req: IncomingMessage, res: ServerResponse) => {
    const event = header(req, "x-github-event");
    const id = header(req, "x-github-delivery");
    const signature = header(req, "x-hub-signature-256");
    const body = await readBody(req);
    // The signature is checked before anything else is believed, including the headers' claims.
    if (!signature || !(await verify(opts.secret, body, signature).catch(() => false))) {
      opts.metrics.deliveries.inc({ result: "rejected" });
      throw new HttpError(401, signature ? "signature does not match" : "missing X-Hub-Signature-256");
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
    const action = typeof (payload as { action?: unknown }).action === "string" ? ((payload as { action: string }).action) : null;
    const relevance = relevanceOf(event, payload, opts.self);
    const result = opts.inbox.accept({ id, event, action, payload: body, relevance });
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
        const health = opts.health();
        return send(res, health.ok ? 200 : 503, { status: health.ok ? "ok" : "unhealthy", ...health.detail });
      }
      if (route === "GET /metrics") return send(res, 200, await opts.metrics.registry.metrics(), opts.metrics.registry.contentType);
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
