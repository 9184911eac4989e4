// `governor reconcile`: evaluates every open PR of the installation(s) now, with the app's credentials, and reports
// what changed. For after an outage, a policy change made outside a push, or a doubt.
import { Probot } from "probot";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { auditSinkOf, checkRunLedgerOf } from "./app-ports.js";
import { openStores } from "../store/open.js";
import { type GovernorApi, governorApp } from "../github/app.js";
import { governorOctokit } from "../github/octokit.js";
import type { ServerConfig } from "./config.js";

export interface ReconcileChange {
  repo: string;
  pr: number;
  from: string | null;
  to: string;
  title: string;
}

export interface ReconcileReport {
  evaluated: number;
  changed: ReconcileChange[];
  failed: Array<{ repo: string; pr: number; error: string }>;
}

/** Bounds on one run: repositories per installation and open PRs per repository (pages of 100). */
const MAX_REPOS = 1000;
const MAX_PRS_PER_REPO = 1000;

export async function reconcile(config: ServerConfig, only: { installation?: number; repo?: string } = {}): Promise<ReconcileReport> {
  // The same stores as serve (SQLite, or PostgreSQL beside running replicas: leases and commit locks keep them apart).
  const stores = openStores({ ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}), databasePath: config.databasePath });
  await stores.migrate();
  const owner = `reconcile:${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  const probot = new Probot({
    appId: config.appId,
    privateKey: config.privateKey,
    secret: config.secret,
    baseUrl: config.baseUrl,
    logLevel: config.logLevel,
    Octokit: governorOctokit({
      ...(config.requestTimeoutMs !== undefined ? { timeoutMs: config.requestTimeoutMs } : {}),
      ...(config.retryBaseMs !== undefined ? { retryAfterBaseValue: config.retryBaseMs } : {}),
    }),
  });
  const audit = auditSinkOf(stores);
  const checkRuns = checkRunLedgerOf(stores.checkRuns, { owner, leaseMs: config.leaseMs ?? 60_000 });
  let api: GovernorApi | undefined;
  await probot.load(
    governorApp(
      {
        audit,
        checkRuns,
        appId: config.appId,
        now: config.clock ?? (() => new Date()),
        ...(stores.kind === "postgres" ? { commitLock: <T>(key: string, fn: () => Promise<T>) => stores.locks.withLock(key, fn) } : {}),
        ...(config.requireOrgPolicy ? { requireOrgPolicy: true } : {}),
      },
      { ready: (a) => (api = a) },
    ),
  );
  const report: ReconcileReport = { evaluated: 0, changed: [], failed: [] };
  try {
    const appOctokit = await probot.auth();
    const installations =
      only.installation !== undefined
        ? [only.installation]
        : (await appOctokit.paginate(appOctokit.rest.apps.listInstallations, { per_page: 100 })).map((i) => i.id);
    const runAt = new Date().toISOString();
    for (const installationId of installations) {
      const octokit = await probot.auth(installationId);
      const repos =
        only.repo !== undefined
          ? [only.repo]
          : ((await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 })) as unknown as Array<{ full_name: string }>)
              .slice(0, MAX_REPOS)
              .map((r) => r.full_name);
      for (const full of repos) {
        const [owner = "", repo = ""] = full.split("/");
        const open = (await octokit.paginate(octokit.rest.pulls.list, { owner, repo, state: "open", per_page: 100 })).slice(0, MAX_PRS_PER_REPO);
        for (const pr of open) {
          const before = await stores.audit.latestForPr(full, pr.number);
          try {
            await api!.reevaluate({ repo: full, pr: pr.number, installationId, deliveryId: `reconcile:${runAt}:${full}#${pr.number}` });
          } catch (error) {
            report.failed.push({ repo: full, pr: pr.number, error: String(error) });
            continue;
          }
          report.evaluated++;
          const after = await stores.audit.latestForPr(full, pr.number);
          if (after && after.id !== before?.id && (before?.outcome !== after.outcome || before.title !== after.title)) {
            report.changed.push({ repo: full, pr: pr.number, from: before?.outcome ?? null, to: after.outcome, title: after.title });
          }
        }
      }
    }
  } finally {
    await stores.close();
  }
  return report;
}
