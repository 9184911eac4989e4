// Starts Governor: audit store, durable inbox, the Probot app, the worker and the HTTP front, wired one way.
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { Probot } from "probot";
import { budgetApi } from "../dashboard/budget-api.js";
import { createDashboard } from "../dashboard/index.js";
import { type GovernorApi, governorApp } from "../github/app.js";
import { governorOctokit } from "../github/octokit.js";
import { ConfigError, type ServerConfig } from "./config.js";
import { createFront } from "./http.js";
import { auditSinkOf, checkRunLedgerOf } from "./app-ports.js";
import { openStores, type Stores } from "../store/open.js";
import { adoptLegacyInbox } from "./legacy-inbox.js";
import type { DeliveryQueue } from "../store/ports.js";
import { createMetrics, type Metrics } from "./metrics.js";
import type { SelfIdentity } from "./relevance.js";
import { Worker } from "./worker.js";
import { type AppClient, recoverMissedDeliveries } from "./recover.js";

/** The inbox event of a synthetic delivery: evaluate a PR again because a rule's time window opened or closed. */
export const REEVALUATE_EVENT = "governor.reevaluate";

/**
 * This process's id among replicas. GOVERNOR_REPLICA_ID names a replica across its restarts (a restarted replica then
 * takes back its own leases at once); otherwise one SQLite file has one process, so it is always the same replica, and
 * a PostgreSQL replica is hostname:pid:random, unique across hosts and restarts, its leases freed by expiry.
 */
export function replicaOwner(kind: "sqlite" | "postgres", named?: string): string {
  if (named) return named;
  return kind === "sqlite" ? "sqlite" : `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

export interface RunningGovernor {
  url: string;
  webhookUrl: string;
  /** The shared delivery queue (SQLite or PostgreSQL). */
  inbox: DeliveryQueue;
  /** This replica's id (the owner of its leases). */
  owner: string;
  worker: Worker;
  metrics: Metrics;
  close(): Promise<void>;
}

type Log = (level: "info" | "warn" | "error", msg: string, extra?: Record<string, unknown>) => void;

export async function startGovernor(config: ServerConfig, log: Log): Promise<RunningGovernor> {
  let stores: Stores;
  try {
    stores = openStores(
      { ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}), databasePath: config.databasePath },
      {
        onError: (error) => log("warn", "an idle database connection broke; it is reopened on next use", { error: String(error) }),
      },
    );
  } catch (error) {
    // Not a database, a newer schema, a locked or unreadable file: the operator's to fix, named with the path.
    throw new ConfigError(
      `cannot start: ${config.databaseUrl ? "DATABASE_URL" : `DATABASE_PATH ${config.databasePath}`}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const applied = (await stores.migrate()).filter((m) => m.applied.length > 0);
  if (applied.length > 0)
    log("info", "brought the database schema up to date", { store: stores.kind, applied: applied.map((m) => `${m.store} ${m.from}->${m.to}`) });
  const inbox = stores.queue;
  const leaseMs = config.leaseMs ?? 60_000;
  const owner = replicaOwner(stores.kind, config.replicaId);
  // An upgrade from a build with the old inbox table: its unfinished deliveries move to the queue, none is lost.
  if (stores.kind === "sqlite") {
    const moved = await adoptLegacyInbox(config.databasePath, inbox);
    if (moved > 0) log("info", "moved unfinished deliveries from the old inbox table to the delivery queue", { moved });
  }
  const metrics = createMetrics(inbox, { prsLastDay: () => stores.budget.budgetPeaks((config.clock ?? (() => new Date()))()) });

  const probot = new Probot({
    appId: config.appId,
    privateKey: config.privateKey,
    secret: config.secret,
    baseUrl: config.baseUrl,
    logLevel: config.logLevel,
    logFormat: config.logFormat ?? "pretty",
    logLevelInString: true,
    Octokit: governorOctokit({
      ...(config.requestTimeoutMs !== undefined ? { timeoutMs: config.requestTimeoutMs } : {}),
      ...(config.retryBaseMs !== undefined ? { retryAfterBaseValue: config.retryBaseMs } : {}),
      onRequest: (route) => {
        const end = metrics.githubSeconds.startTimer({ route });
        return (status) => void end({ status });
      },
    }),
  });
  // When each delivery's evaluation began, for the one log line per decision (the worker dispatches, the app records).
  const started = new Map<string, number>();
  const audit = auditSinkOf(stores, {
    groupCommit: { onCommit: (batch) => metrics.auditCommitDecisions.observe(batch.entries) },
    onRecorded: (entry, row) => {
      metrics.decisions.inc({ outcome: entry.outcome });
      const since = entry.delivery_id !== null ? started.get(entry.delivery_id) : undefined;
      log("info", "decision", {
        repo: entry.repo,
        pr: entry.pr,
        head: entry.head_sha,
        agent: entry.agent,
        outcome: entry.outcome,
        rules: entry.decision.rules.map((r) => r.id),
        ...(since !== undefined ? { ms: Math.round(performance.now() - since) } : {}),
        row: row.id,
      });
    },
  });
  const clock = config.clock ?? (() => new Date());
  let api: GovernorApi | undefined;
  await probot.load(
    governorApp(
      {
        audit,
        appId: config.appId,
        now: clock,
        checkRuns: checkRunLedgerOf(stores.checkRuns, { owner, leaseMs }),
        ...(stores.kind === "postgres" ? { commitLock: <T>(key: string, fn: () => Promise<T>) => stores.locks.withLock(key, fn) } : {}),
        ...(config.requireOrgPolicy ? { requireOrgPolicy: true } : {}),
      },
      { ready: (a) => (api = a) },
    ),
  );

  // Filled in the background once GitHub answers GET /app: the server listens first, whatever GitHub does.
  const self: SelfIdentity = { appId: config.appId };

  const worker = new Worker({
    queue: inbox,
    owner,
    leaseMs,
    metrics,
    concurrency: config.concurrency,
    perInstallation: config.perInstallation,
    maxAttempts: 3,
    log,
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

  // A write probe on the chosen store: a replica that cannot store deliveries must leave the load balancer's rotation.
  const health = async () => {
    try {
      await inbox.accept({
        id: `health:${owner}`,
        event: "governor.health",
        action: null,
        payload: "{}",
        relevance: { evaluate: false, why: "health probe", installationId: null, prKey: null, headSha: null },
      });
      return { ok: true, detail: { database: "writable", store: stores.kind, replica: owner, inbox_depth: await inbox.depth() } };
    } catch (error) {
      return { ok: false, detail: { database: `not writable: ${String(error)}`, store: stores.kind, replica: owner } };
    }
  };
  // A stored delivery is answered 202 even when claiming work fails now (the worker logs it): the poll picks it up.
  const wakeSafely = () => void worker.wake();
  // The dashboard reads the audit file through its own read-only connection: it can never write the trail.
  const dashboard = config.dashboard ? createDashboard(config.dashboard, config.databasePath, log) : undefined;
  // The budget endpoint for `governor mcp` (GOVERNOR_API_TOKENS), also over its own read-only connection.
  const budget = config.apiTokens?.length
    ? budgetApi({
        tokens: config.apiTokens,
        databasePath: config.databasePath,
        ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
        ...(config.clock ? { clock: config.clock } : {}),
      })
    : undefined;
  const server = createFront({
    secret: config.secret,
    webhookPath: config.webhookPath,
    inbox,
    metrics,
    self,
    onQueued: wakeSafely,
    health,
    log,
    ...(dashboard ? { dashboard } : {}),
    ...(budget ? { budget } : {}),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (error) {
    void dashboard?.close();
    budget?.close();
    await stores.close();
    throw listenError(error, config);
  }
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}`;

  // Only leases that expired: work another live replica holds is never taken. The claim also reclaims as it goes.
  const reclaim = async (restarted = false) => {
    try {
      // A replica with a stable name is its own predecessor: what that process held is unfinished, and nobody else's.
      const own = restarted && (config.replicaId || stores.kind === "sqlite") ? await inbox.releaseOwn(owner) : 0;
      if (own > 0) log("info", "picked up unfinished deliveries after a restart", { recovered: own });
      const recovered = await inbox.reclaimExpired();
      if (recovered > 0) log("info", "picked up deliveries whose lease expired (a replica stopped)", { recovered });
    } catch (error) {
      log("warn", "could not reclaim expired leases; will try again", { error: String(error) });
    }
  };
  await reclaim(true);
  wakeSafely();
  // Check runs this replica started stay its own while it lives.
  const beatRuns = async () => {
    try {
      await stores.checkRuns.heartbeat(owner, leaseMs);
    } catch (error) {
      log("warn", "could not renew check-run leases; will try again", { error: String(error) });
    }
  };
  const beating = setInterval(() => void beatRuns(), Math.max(50, Math.floor(leaseMs / 3)));
  beating.unref();

  const prune = async () => {
    try {
      const dropped = await inbox.prune(new Date(Date.now() - (config.inboxRetentionDays ?? 7) * 86_400_000));
      if (dropped > 0) log("info", "dropped finished deliveries past their retention", { dropped });
    } catch (error) {
      log("warn", "could not prune the inbox; it will be tried again", { error: String(error) });
    }
  };
  await prune();
  const pruning = setInterval(() => void prune(), 3_600_000);
  pruning.unref();
  // Time windows: a re-evaluation that falls due goes into the inbox (durably, under an id of its own, so a restart
  // between queueing and clearing it queues nothing twice), then off the schedule.
  const reevaluateDue = async () => {
    try {
      for (const due of await stores.audit.dueReevaluations(clock())) {
        const result = await inbox.accept({
          id: `reevaluate:${due.repo}#${due.pr}@${due.dueAt}`,
          event: REEVALUATE_EVENT,
          action: null,
          payload: JSON.stringify(due),
          relevance: { evaluate: true, installationId: due.installationId, prKey: `${due.repo}#${due.pr}`, headSha: null },
        });
        await stores.audit.clearReevaluation(due);
        if (result.status === "queued") log("info", "a rule's time window changed; evaluating the PR again", { repo: due.repo, pr: due.pr, due: due.dueAt });
      }
      wakeSafely();
    } catch (error) {
      log("warn", "could not queue due re-evaluations; will try again", { error: String(error) });
    }
  };
  await reevaluateDue();
  const reevaluating = setInterval(() => void reevaluateDue(), config.reevaluateEveryMs ?? 15_000);
  reevaluating.unref();
  // Missed webhooks: at start (after listening) and every few minutes, failed deliveries the inbox never got are redelivered.
  const recover = async () => {
    try {
      const app = (await probot.auth()) as unknown as AppClient;
      const result = await recoverMissedDeliveries({ app, known: async (guid) => (await inbox.statusOf(guid)) !== undefined, now: clock(), log });
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
      log("warn", "could not read the app's own slug (GET /app); label events by Governor itself will be evaluated too", {
        error: describeNetworkError(error),
      });
    }
  })();

  return {
    url,
    webhookUrl: `${url}${config.webhookPath}`,
    inbox,
    owner,
    worker,
    metrics,
    async close() {
      identity.abort();
      clearInterval(pruning);
      clearInterval(beating);
      clearInterval(polling);
      clearInterval(reevaluating);
      clearInterval(recovering);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await worker.stop();
      await dashboard?.close();
      budget?.close();
      await stores.close();
    },
  };
}

/** A port that cannot be listened on is a configuration mistake: one line naming it. */
function listenError(error: unknown, config: ServerConfig): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${config.host}:${config.port}`;
  if (code === "EADDRINUSE") return new ConfigError(`cannot start: port ${config.port} is already in use on ${config.host} (set PORT or --port to a free one)`);
  if (code === "EACCES") return new ConfigError(`cannot start: not allowed to listen on ${where} (ports below 1024 need privileges; set PORT or --port)`);
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EAI_AGAIN")
    return new ConfigError(`cannot start: cannot listen on ${where}: ${config.host} is not an address of this machine (set HOST or --host)`);
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
