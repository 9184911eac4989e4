// The dashboard as one request handler: pages under /dashboard, a read-only JSON API under /api/, sign-in in front of both.
// Mounted by `governor serve` (with GitHub sign-in) and by `governor dashboard` (local, one person, no sign-in).
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { z } from "zod";
import { Replayer, type ReplayResult } from "../audit/replay.js";
import type { AuditRow } from "../audit/store.js";
import { type Access, GitHubAuth, type Log, safeNext } from "./auth.js";
import type { DashboardConfig } from "./config.js";
import { html, type Safe } from "./html.js";
import type { Viewer } from "./layout.js";
import { type AuditSource, CursorError, DECISION_MODES, type DecisionFilters, type DecisionListItem, OUTCOMES, type VerifyStatus } from "./source.js";
import { SqliteAuditSource } from "./sqlite-source.js";
import {
  agentsPage,
  agentTotals,
  budgetsPage,
  decisionPage,
  decisionsPage,
  type FilterForm,
  historyPage,
  messagePage,
  overridesPage,
  verifyPage,
} from "./views.js";

export { DashboardConfigError, readDashboardConfig, type DashboardConfig } from "./config.js";
export { SqliteAuditSource } from "./sqlite-source.js";
export type { AuditSource } from "./source.js";
/** The PR history page's path (`/dashboard/prs/{owner}/{repo}/{number}`): what a check run's Details link can point at. */
export { prPath as prHistoryPath } from "./views.js";

export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export type DashboardAuth = { kind: "local" } | { kind: "github"; github: GitHubAuth };

export interface DashboardOptions {
  source: AuditSource;
  auth: DashboardAuth;
  /** GitHub's web address, for links to PRs and to policy lines. */
  htmlBase: string;
  log?: Log;
}

const PAGE_SIZE = 50;
const API_MAX = 500;
const VERIFY_EVERY_MS = 60_000;
const AGGREGATE_TTL_MS = 30_000;
const DEFAULT_WINDOW_DAYS = 30;

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// ---- query parameters: one schema for pages and API, so both accept and refuse the same things ----

const text = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .transform((v) => (v === "" ? undefined : v));
const day = /^\d{4}-\d{2}-\d{2}$/;
const when = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx) => {
    if (!v) return undefined;
    if (!day.test(v) && Number.isNaN(Date.parse(v))) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(v.slice(0, 40))} is not a date (YYYY-MM-DD) or an ISO 8601 time` });
      return z.NEVER;
    }
    return v;
  });
const FilterQuery = z.strictObject({
  org: text(100).refine((v) => v === undefined || /^[A-Za-z0-9._-]+$/.test(v), "org is an organization's login, without a slash"),
  repo: text(200).refine((v) => v === undefined || /^[^/\s]+\/[^/\s]+$/.test(v), "repo is owner/name"),
  agent: text(100),
  outcome: z
    .union([z.enum(OUTCOMES), z.literal("")])
    .optional()
    .transform((v) => (v === "" ? undefined : v)),
  mode: z
    .union([z.enum(DECISION_MODES), z.literal("")])
    .optional()
    .transform((v) => (v === "" ? undefined : v)),
  since: when,
  until: when,
  cursor: text(100),
  limit: z
    .string()
    .regex(/^\d+$/, "limit is a whole number")
    .optional()
    .transform((v) => (v === undefined ? undefined : Number(v))),
});

/** A date-only `until` means the end of that day (the forms ask for an inclusive day). */
function instant(value: string, endOfDay: boolean): string {
  if (day.test(value)) {
    const t = Date.parse(`${value}T00:00:00.000Z`);
    if (Number.isNaN(t)) throw new RequestError(400, `${value} is not a date`);
    return new Date(t + (endOfDay ? 86_400_000 : 0)).toISOString();
  }
  return new Date(Date.parse(value)).toISOString();
}

function parseFilters(
  url: URL,
  extraKeys: string[] = [],
): { filters: DecisionFilters; form: FilterForm; cursor: string | undefined; limit: number | undefined } {
  const raw: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (!extraKeys.includes(k)) raw[k] = v;
  const parsed = FilterQuery.safeParse(raw);
  if (!parsed.success) throw new RequestError(400, parsed.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; "));
  const q = parsed.data;
  const filters: DecisionFilters = {
    ...(q.org ? { org: q.org } : {}),
    ...(q.repo ? { repo: q.repo } : {}),
    ...(q.agent ? { agent: q.agent } : {}),
    ...(q.outcome ? { outcome: q.outcome } : {}),
    ...(q.mode ? { mode: q.mode } : {}),
    ...(q.since ? { since: instant(q.since, false) } : {}),
    ...(q.until ? { until: instant(q.until, true) } : {}),
  };
  const form: FilterForm = {
    ...(q.org ? { org: q.org } : {}),
    ...(q.repo ? { repo: q.repo } : {}),
    ...(q.agent ? { agent: q.agent } : {}),
    ...(q.outcome ? { outcome: q.outcome } : {}),
    ...(q.mode ? { mode: q.mode } : {}),
    ...(q.since ? { since: q.since } : {}),
    ...(q.until ? { until: q.until } : {}),
  };
  if (q.limit !== undefined && (q.limit < 1 || q.limit > API_MAX)) throw new RequestError(400, `limit: between 1 and ${API_MAX}`);
  return { filters, form, cursor: q.cursor, limit: q.limit };
}

// ---- responses ----

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

function sendHtml(res: ServerResponse, status: number, body: Safe, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(body.text);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(302, { ...SECURITY_HEADERS, location, "cache-control": "no-store", ...headers });
  res.end();
}

// ---- static files: the charting library from node_modules, and the page's own small script ----

const require = createRequire(import.meta.url);
const ASSETS: Record<string, () => string> = {
  "/dashboard/assets/chart.umd.min.js": () => readFileSync(join(dirname(require.resolve("chart.js")), "chart.umd.min.js"), "utf8"),
  "/dashboard/assets/agents.js": () => readFileSync(new URL("./assets/agents.js", import.meta.url), "utf8"),
};
const assetCache = new Map<string, string>();

function asset(path: string): string | undefined {
  const load = ASSETS[path];
  if (!load) return undefined;
  let text = assetCache.get(path);
  if (text === undefined) assetCache.set(path, (text = load()));
  return text;
}

// ---- API shapes ----

function anchorOf(row: { id: number; hash: string }): string {
  return `${row.id}:${row.hash.slice(0, 16)}`;
}

function replayJson(r: ReplayResult): Record<string, unknown> {
  if (r.status === "identical") return { status: r.status };
  if (r.status === "skipped") return { status: r.status, why: r.why };
  if (r.status === "older_evaluator")
    return { status: r.status, fields: r.fields, evaluator_changed: true, recorded_by: r.recorded, now: r.now.evaluator_version };
  return { status: r.status, fields: r.fields, evaluator_changed: false };
}

function rowJson(row: AuditRow, replay?: ReplayResult): Record<string, unknown> {
  const { decision, input, ...columns } = row;
  return {
    ...columns,
    anchor: anchorOf(row),
    decision: JSON.parse(decision) as unknown,
    input: input === null ? null : (JSON.parse(input) as unknown),
    ...(replay ? { replay: replayJson(replay) } : {}),
  };
}

function itemJson(item: DecisionListItem): Record<string, unknown> {
  return { ...item, anchor: anchorOf(item) };
}

function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  return /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d+)?$/i.test(host);
}

export function dashboardHandler(opts: DashboardOptions): DashboardHandler & { close(): Promise<void> } {
  const log: Log = opts.log ?? (() => undefined);
  const replayer = new Replayer();
  let verified: VerifyStatus | null = null;
  let verifying: Promise<VerifyStatus> | null = null;
  const aggregates = new Map<string, { at: number; value: unknown }>();

  const cached = async <T>(key: string, make: () => Promise<T>): Promise<T> => {
    const hit = aggregates.get(key);
    if (hit && Date.now() - hit.at < AGGREGATE_TTL_MS) return hit.value as T;
    const value = await make();
    if (aggregates.size > 100) aggregates.clear();
    aggregates.set(key, { at: Date.now(), value });
    return value;
  };

  /** Verification reads every row: run when asked, at most once a minute, and once by itself when never run. */
  const verify = async (force: boolean): Promise<VerifyStatus> => {
    if (verifying) return verifying;
    if (verified && (!force || Date.now() - Date.parse(verified.checked_at) < VERIFY_EVERY_MS)) return verified;
    verifying = opts.source
      .verify()
      .then((v) => (verified = v))
      .finally(() => (verifying = null));
    return verifying;
  };

  const window = (url: URL): { since: string; until: string; org?: string; form: { since: string; until: string; org?: string } } => {
    const raw = Object.fromEntries(url.searchParams);
    const parsed = z.strictObject({ since: when, until: when, org: FilterQuery.shape.org }).safeParse(raw);
    if (!parsed.success) throw new RequestError(400, parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    const untilDay = parsed.data.until ?? new Date().toISOString().slice(0, 10);
    const sinceDay = parsed.data.since ?? new Date(Date.parse(instant(untilDay, true)) - DEFAULT_WINDOW_DAYS * 86_400_000).toISOString().slice(0, 10);
    const org = parsed.data.org;
    return {
      since: instant(sinceDay, false),
      until: instant(untilDay, true),
      ...(org ? { org } : {}),
      form: { since: sinceDay.slice(0, 10), until: untilDay.slice(0, 10), ...(org ? { org } : {}) },
    };
  };

  const pages = async (route: string, url: URL, viewer: Viewer, res: ServerResponse): Promise<boolean> => {
    let m: RegExpExecArray | null;
    if (route === "/dashboard" || route === "/dashboard/") {
      const { filters, form, cursor } = parseFilters(url);
      const result = await opts.source.listDecisions(filters, { cursor: cursor ?? null, limit: PAGE_SIZE });
      sendHtml(res, 200, decisionsPage(viewer, form, result, cursor));
    } else if ((m = /^\/dashboard\/decisions\/(\d{1,15})$/.exec(route))) {
      const row = await opts.source.getDecision(Number(m[1]));
      if (!row) throw new RequestError(404, `no decision ${m[1]} in the trail`);
      sendHtml(res, 200, decisionPage(viewer, row, replayer.replay(row), { htmlBase: opts.htmlBase }));
    } else if ((m = /^\/dashboard\/prs\/([^/]+)\/([^/]+)\/(\d{1,10})$/.exec(route))) {
      const repo = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
      sendHtml(res, 200, historyPage(viewer, repo, Number(m[3]), await opts.source.prHistory(repo, Number(m[3])), { htmlBase: opts.htmlBase }));
    } else if (route === "/dashboard/agents") {
      const w = window(url);
      const days = await cached(`agents:${w.since}:${w.until}:${w.org ?? ""}`, () => opts.source.agentActivity(w));
      sendHtml(res, 200, agentsPage(viewer, w, w.form, days));
    } else if (route === "/dashboard/budgets") {
      const { filters } = parseFilters(url);
      sendHtml(res, 200, budgetsPage(viewer, await cached(`budgets:${filters.org ?? ""}`, () => opts.source.budgets(filters.org ? { org: filters.org } : {}))));
    } else if (route === "/dashboard/overrides") {
      const { filters, form, cursor } = parseFilters(url);
      sendHtml(res, 200, overridesPage(viewer, filters, form, await opts.source.overrides(filters, { cursor: cursor ?? null, limit: PAGE_SIZE }), cursor));
    } else if (route === "/dashboard/verify") {
      const status = await verify(url.searchParams.get("run") === "1");
      sendHtml(res, 200, verifyPage(viewer, status, verifying !== null));
    } else if (ASSETS[route]) {
      res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/javascript; charset=utf-8", "cache-control": "private, max-age=3600" });
      res.end(asset(route));
    } else return false;
    return true;
  };

  const api = async (route: string, url: URL, res: ServerResponse): Promise<boolean> => {
    let m: RegExpExecArray | null;
    const list = async (kind: "decisions" | "overrides") => {
      const { filters, cursor, limit } = parseFilters(url);
      const request = { cursor: cursor ?? null, limit: limit ?? PAGE_SIZE };
      const page = await (kind === "decisions" ? opts.source.listDecisions(filters, request) : opts.source.overrides(filters, request));
      let nextUrl: string | null = null;
      if (page.next) {
        const q = new URLSearchParams(url.searchParams);
        q.set("cursor", page.next);
        nextUrl = `${url.pathname}?${q.toString()}`;
      }
      sendJson(res, 200, { items: page.items.map(itemJson), next: page.next, next_url: nextUrl });
    };
    if (route === "/api/decisions") await list("decisions");
    else if (route === "/api/overrides") await list("overrides");
    else if ((m = /^\/api\/decisions\/(\d{1,15})$/.exec(route))) {
      const row = await opts.source.getDecision(Number(m[1]));
      if (!row) throw new RequestError(404, `no decision ${m[1]} in the trail`);
      sendJson(res, 200, rowJson(row, replayer.replay(row)));
    } else if ((m = /^\/api\/prs\/([^/]+)\/([^/]+)\/(\d{1,10})$/.exec(route))) {
      const repo = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
      const rows = await opts.source.prHistory(repo, Number(m[3]));
      sendJson(res, 200, { repo, pr: Number(m[3]), decisions: rows.map((r) => rowJson(r)) });
    } else if (route === "/api/agents") {
      const w = window(url);
      const days = await cached(`agents:${w.since}:${w.until}:${w.org ?? ""}`, () => opts.source.agentActivity(w));
      sendJson(res, 200, { since: w.since, until: w.until, ...(w.org ? { org: w.org } : {}), totals: agentTotals(days), days });
    } else if (route === "/api/budgets") {
      const { filters } = parseFilters(url);
      sendJson(res, 200, { lines: await cached(`budgets:${filters.org ?? ""}`, () => opts.source.budgets(filters.org ? { org: filters.org } : {})) });
    } else if (route === "/api/verify") {
      sendJson(res, 200, await verify(url.searchParams.get("run") === "1"));
    } else return false;
    return true;
  };

  const API_ROUTE = /^\/api\/(decisions|overrides|prs|agents|budgets|verify)(\/|$)/;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    const route = url.pathname;
    const isApi = API_ROUTE.test(route);
    const isPage = route === "/dashboard" || route.startsWith("/dashboard/");
    if (!isApi && !isPage && route !== "/") return false;
    const method = req.method ?? "GET";
    const fail = (status: number, message: string, viewer: Viewer | null, headers: Record<string, string | string[]> = {}) =>
      isApi
        ? sendJson(res, status, { error: message }, headers)
        : sendHtml(
            res,
            status,
            messagePage(
              viewer,
              status === 403 ? "Access refused" : status === 404 ? "Not found" : status === 401 ? "Sign-in required" : "Cannot show this",
              message,
            ),
            headers,
          );
    try {
      if (opts.auth.kind === "local" && !isLoopbackHost(req.headers.host)) {
        // The local dashboard has no sign-in: answer only requests addressed to loopback (no DNS rebinding from a web page).
        fail(403, "the local dashboard answers only requests to 127.0.0.1 or localhost", null);
        return true;
      }
      if (route === "/") {
        if (method !== "GET" && method !== "HEAD") return false;
        redirect(res, "/dashboard");
        return true;
      }
      const auth = opts.auth;
      if (auth.kind === "github") {
        if (route === "/dashboard/login" && method === "GET") {
          auth.github.startSignIn(req, res, url.searchParams.get("next") ?? "/dashboard");
          return true;
        }
        if (route === "/dashboard/oauth/callback" && method === "GET") {
          const done = await auth.github.finishSignIn(req, url);
          const clear = auth.github.clearStateCookie();
          if (done.ok) redirect(res, done.next, { "set-cookie": [clear, done.cookie] });
          else fail(done.status, done.login ? `${done.login} is ${done.why}.` : done.why, null, { "set-cookie": clear });
          return true;
        }
        if (route === "/dashboard/logout") {
          if (method !== "POST") throw new RequestError(405, "sign out with the button (POST)");
          redirect(res, "/dashboard/signed-out", { "set-cookie": auth.github.signOut(req) });
          return true;
        }
        if (route === "/dashboard/signed-out" && method === "GET") {
          sendHtml(res, 200, messagePage(null, "Signed out", "You are signed out.", html`<p><a href="/dashboard/login">Sign in again</a></p>`));
          return true;
        }
      } else if (route === "/dashboard/login") {
        redirect(res, "/dashboard");
        return true;
      }
      if (method !== "GET" && method !== "HEAD") throw new RequestError(405, `${method} is not allowed: the dashboard is read-only`);
      let viewer: Viewer;
      if (auth.kind === "github") {
        const access: Access = await auth.github.access(req);
        if (!access.ok) {
          if (access.why === "no_session") {
            if (isApi) fail(401, "sign in to the dashboard first: the API answers only with a session", null);
            else redirect(res, `/dashboard/login?next=${encodeURIComponent(safeNext(route + url.search))}`);
          } else if (access.why === "forbidden")
            fail(403, `${access.login} is no longer a member of a team allowed to see the dashboard.`, null, { "set-cookie": auth.github.signOut(req) });
          else fail(503, `${access.detail}; try again shortly.`, null);
          return true;
        }
        viewer = { login: access.login };
      } else viewer = { login: null };
      const handled = isApi ? await api(route, url, res) : await pages(route, url, viewer, res);
      if (!handled) fail(404, `no page ${route}`, viewer);
      return true;
    } catch (error) {
      const status = error instanceof RequestError ? error.status : error instanceof CursorError ? 400 : 500;
      if (status >= 500) log("error", "dashboard request failed", { route, error: String(error instanceof Error ? error.message : error) });
      if (!res.headersSent) fail(status, status >= 500 ? "the dashboard could not read the audit trail; see the server log" : (error as Error).message, null);
      else res.end();
      return true;
    }
  };
  return Object.assign(handle, { close: () => opts.source.close() });
}

/** The dashboard of `governor serve`: GitHub sign-in for the configured teams, over the audit file opened read-only. */
export function createDashboard(config: DashboardConfig, databasePath: string, log: Log): DashboardHandler & { close(): Promise<void> } {
  return dashboardHandler({
    source: SqliteAuditSource.open(databasePath),
    auth: { kind: "github", github: new GitHubAuth(config, log) },
    htmlBase: config.webBase,
    log,
  });
}
