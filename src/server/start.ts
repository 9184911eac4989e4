// Starts Governor: audit store, durable inbox, the Probot app, the worker and the HTTP front, wired one way.
import type { AddressInfo } from "node:net";
import Database from "better-sqlite3";
import { Probot } from "probot";
import { openAuditStore } from "../audit/store.js";
import { createDashboard } from "../dashboard/index.js";
import { type GovernorApi, governorApp } from "../github/app.js";
import { governorOctokit } from "../github/octokit.js";
import { ConfigError, type ServerConfig } from "./config.js";
import { auditSinkOf } from "./audit-sink.js";
import { createFront } from "./http.js";
import { SqliteCheckRunLedger } from "./check-run-ledger.js";
import { Inbox } from "./inbox.js";
import { createMetrics, type Metrics } from "./metrics.js";
import type { SelfIdentity } from "./relevance.js";
import { Worker } from "./worker.js";
import { type AppClient, recoverMissedDeliveries } from "./recover.js";

/** The inbox event of a synthetic delivery: evaluate a PR again because a rule's time window opened or closed. */
export const REEVALUATE_EVENT = "governor.reevaluate";

export interface RunningGovernor {
  url: string;
  webhookUrl: string;
  inbox: Inbox;
  worker: Worker;
  metrics: Metrics;
  close(): Promise<void>;
}

type Log = (level: "info" | "warn" | "error", msg: string, extra?: Record<string, unknown>) => void;

export async function startGovernor(config: ServerConfig, log: Log): Promise<RunningGovernor> {
  let store;
  try {
    store = openAuditStore(config.databasePath);
  } catch (error) {
    // Not a database, a newer schema, a locked or unreadable file: the operator's to fix, named with the path.
    throw new ConfigError(`cannot start: DATABASE_PATH ${config.databasePath}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const db = new Database(config.databasePath);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  const inbox = new Inbox(db);
  const metrics = createMetrics(inbox, { prsLastDay: () => store.budgetPeaks((config.clock ?? (() => new Date()))()) });

  const probot = new Probot({
    appId: config.appId, privateKey: config.privateKey, secret: config.secret, baseUrl: config.baseUrl,
    logLevel: config.logLevel, logFormat: config.logFormat ?? "pretty", logLevelInString: true,
    Octokit: governorOctokit({
      ...(config.requestTimeoutMs !== undefined ? { timeoutMs: config.requestTimeoutMs } : {}),
      ...(config.retryBaseMs !== undefined ? { retryAfterBaseValue: config.retryBaseMs } : {}),
      onRequest: (route) => { const end = metrics.githubSeconds.startTimer({ route }); return (status) => void end({ status }); } }),
  });
  // When each delivery's evaluation began, for the one log line per decision (the worker dispatches, the app records).
  const started = new Map<string, number>();
  const audit = auditSinkOf(store, (entry, row) => {
    metrics.decisions.inc({ outcome: entry.outcome });
    const since = entry.delivery_id !== null ? started.get(entry.delivery_id) : undefined;
    log("info", "decision", {
      repo: entry.repo, pr: entry.pr, head: entry.head_sha, agent: entry.agent, outcome: entry.outcome,
      rules: entry.decision.rules.map((r) => r.id), ...(since !== undefined ? { ms: Math.round(performance.now() - since) } : {}), row: row.id,
    });
  });
  const clock = config.clock ?? (() => new Date());
  let api: GovernorApi | undefined;
  await probot.load(governorApp({ audit, appId: config.appId, now: clock, checkRuns: new SqliteCheckRunLedger(db), ...(config.requireOrgPolicy ? { requireOrgPolicy: true } : {}) }, { ready: (a) => (api = a) }));

  // Filled in the background once GitHub answers GET /app: the server listens first, whatever GitHub does.
  const self: SelfIdentity = { appId: config.appId };

  const worker = new Worker({
    inbox, metrics, concurrency: config.concurrency, perInstallation: config.perInstallation, maxAttempts: 3, log,
    ...(config.retryBaseMs !== undefined ? { retryDelayMs: config.retryBaseMs } : {}),
    dispatch: async (d) => {
      started.set(d.id, performance.now());
      try {
        if (d.event === REEVALUATE_EVENT) {
          const due = JSON.parse(d.payload) as { repo: string; pr: number; installationId: number | null };
          if (!api) throw new Error("the app is not loaded");
          await api.reevaluate({ ...due, deliveryId: d.id });
          return;
        }
        await probot.receive({ id: d.id, name: d.event, payload: JSON.parse(d.payload) as unknown } as Parameters<Probot["receive"]>[0]);
      } finally {
        started.delete(d.id);
      }
    },
  });

  const health = () => {
    try {
      db.prepare("CREATE TABLE IF NOT EXISTS health (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT)").run();
      db.prepare("INSERT INTO health (id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at").run(new Date().toISOString());
      return { ok: true, detail: { database: "writable", inbox_depth: inbox.depth() } };
    } catch (error) {
      return { ok: false, detail: { database: `not writable: ${String(error)}` } };
    }
  };
  // A stored delivery is answered 202 even when claiming work fails now: the poll below picks it up.
  const wakeSafely = () => {
    try {
      worker.wake();
    } catch (error) {
      log("warn", "could not claim work from the inbox; will try again", { error: String(error) });
    }
  };
  // The dashboard reads the audit file through its own read-only connection: it can never write the trail.
  const dashboard = config.dashboard ? createDashboard(config.dashboard, config.databasePath, log) : undefined;
  const server = createFront({ secret: config.secret, webhookPath: config.webhookPath, inbox, metrics, self, onQueued: wakeSafely, health, log, ...(dashboard ? { dashboard } : {}) });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (error) {
    void dashboard?.close();
    db.close();
    store.close();
    throw listenError(error, config);
  }
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}`;

  const recovered = inbox.recover();
  if (recovered > 0) log("info", "picked up unfinished deliveries after a restart", { recovered });
  worker.wake();

  const prune = () => {
    try {
      const dropped = inbox.prune(new Date(Date.now() - (config.inboxRetentionDays ?? 7) * 86_400_000));
      if (dropped > 0) log("info", "dropped finished deliveries past their retention", { dropped });
    } catch (error) {
      log("warn", "could not prune the inbox; it will be tried again", { error: String(error) });
    }
  };
  prune();
  const pruning = setInterval(prune, 3_600_000);
  pruning.unref();
  // Time windows: a re-evaluation that falls due goes into the inbox (durably, under an id of its own, so a restart
  // between queueing and clearing it queues nothing twice), then off the schedule.
  const reevaluateDue = () => {
    try {
      for (const due of store.dueReevaluations(clock())) {
        const result = inbox.accept({
          id: `reevaluate:${due.repo}#${due.pr}@${due.dueAt}`, event: REEVALUATE_EVENT, action: null, payload: JSON.stringify(due),
          relevance: { evaluate: true, installationId: due.installationId, prKey: `${due.repo}#${due.pr}`, headSha: null },
        });
        store.clearReevaluation(due);
        if (result.status === "queued") log("info", "a rule's time window changed; evaluating the PR again", { repo: due.repo, pr: due.pr, due: due.dueAt });
      }
      wakeSafely();
    } catch (error) {
      log("warn", "could not queue due re-evaluations; will try again", { error: String(error) });
    }
  };
  reevaluateDue();
  const reevaluating = setInterval(reevaluateDue, config.reevaluateEveryMs ?? 15_000);
  reevaluating.unref();
  // Missed webhooks: at start (after listening) and every few minutes, failed deliveries the inbox never got are redelivered.
  const recover = async () => {
    try {
      const app = (await probot.auth()) as unknown as AppClient;
      const result = await recoverMissedDeliveries({ app, known: (guid) => inbox.statusOf(guid) !== undefined, now: clock(), log });
      metrics.recovered.inc(result.redelivered);
    } catch (error) {
      log("warn", "could not list the app's recent webhook deliveries; will try again", { error: String(error) });
    }
  };
  void recover();
  const recovering = setInterval(() => void recover(), config.recoverEveryMs ?? 300_000);
  recovering.unref();
  // A safety net: work queued while a claim failed (a busy database) is picked up without waiting for the next webhook.
  const polling = setInterval(wakeSafely, 1000);
  polling.unref();

  const identity = new AbortController();
  void (async () => {
    try {
      const appOctokit = await probot.auth();
      const { data } = await appOctokit.request("GET /app", { request: { signal: identity.signal } });
      if (data?.slug) self.slug = data.slug;
      log("info", "read the app's identity from GitHub", { slug: self.slug ?? null });
    } catch (error) {
      if (identity.signal.aborted) return;
      log("warn", "could not read the app's own slug (GET /app); label events by Governor itself will be evaluated too", { error: describeNetworkError(error) });
    }
  })();

  return {
    url, webhookUrl: `${url}${config.webhookPath}`, inbox, worker, metrics,
    async close() {
      identity.abort();
      clearInterval(pruning);
      clearInterval(polling);
      clearInterval(reevaluating);
      clearInterval(recovering);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await worker.stop();
      db.close();
      await dashboard?.close();
      store.close();
    },
  };
}

/** A port that cannot be listened on is a configuration mistake: one line naming it. */
function listenError(error: unknown, config: ServerConfig): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${config.host}:${config.port}`;
  if (code === "EADDRINUSE") return new ConfigError(`cannot start: port ${config.port} is already in use on ${config.host} (set PORT or --port to a free one)`);
  if (code === "EACCES") return new ConfigError(`cannot start: not allowed to listen on ${where} (ports below 1024 need privileges; set PORT or --port)`);
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN") return new ConfigError(`cannot start: cannot listen on ${where}: ${config.host} is not an address of this machine (set HOST or --host)`);
  return error;
}

/** A network failure named as such (a DNS lookup that failed is not "GitHub answered 500"). */
export function describeNetworkError(error: unknown): string {
  let cause: unknown = error;
  for (let i = 0; i < 5 && cause; i++) {
    const code = (cause as NodeJS.ErrnoException).code;
    const host = (cause as { hostname?: string }).hostname;
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `DNS lookup failed for ${host ?? "the GitHub host"} (${code})`;
    if (code === "ECONNREFUSED") return `connection refused by ${(cause as { address?: string }).address ?? "the GitHub host"} (ECONNREFUSED)`;
    cause = (cause as { cause?: unknown }).cause;
  }
  return String(error);
}
