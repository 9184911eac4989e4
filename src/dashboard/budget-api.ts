// `GET /api/v1/budget?repo=owner/name&agent=NAME`: an agent's remaining budget, for `governor mcp`'s budget_status.
// Read-only, machine-to-machine: a bearer token from GOVERNOR_API_TOKENS (no tokens configured: the route is off).
// The figures are `governor usage`'s (src/audit/usage.ts), read through the audit file's own read-only connection.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { budgetUsage, type UsageRow } from "../audit/usage.js";
import { openAuditReader, type AuditReader } from "../store/open.js";

export const BUDGET_PATH = "/api/v1/budget";
/** Shorter tokens are refused at start: one guessed in a day of tries must not read the store. */
const MIN_TOKEN_LENGTH = 32;

export class ApiTokenError extends Error {
  override name = "ApiTokenError";
}

/** GOVERNOR_API_TOKENS: comma-separated bearer tokens, each at least 32 characters; unset or empty: none (the route is off). */
export function readApiTokens(env: Record<string, string | undefined>): string[] {
  const raw = env["GOVERNOR_API_TOKENS"]?.trim();
  if (!raw) return [];
  const tokens = raw.split(",").map((t) => t.trim());
  const bad = tokens.findIndex((t) => t.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(t));
  if (bad >= 0)
    throw new ApiTokenError(
      `GOVERNOR_API_TOKENS: token ${bad + 1} is ${tokens[bad]!.length < MIN_TOKEN_LENGTH ? `shorter than ${MIN_TOKEN_LENGTH} characters` : "not printable ASCII without spaces"} (make one with \`openssl rand -hex 32\`)`,
    );
  return tokens;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Whether `header` is `Bearer <one of tokens>`: digests compared in constant time, so neither length nor content leaks. */
export function bearerMatches(header: string | undefined, tokens: readonly string[]): boolean {
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(header ?? "");
  const given = digest(m?.[1] ?? "");
  let ok = false;
  for (const t of tokens) ok = timingSafeEqual(given, digest(t)) || ok;
  return ok && m !== null;
}

const Query = z.strictObject({
  repo: z.string().regex(/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/, "repo is owner/name"),
  agent: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, "agent is an agent's name as the policy knows it"),
});

export interface BudgetWindow {
  scope: "repo" | "org";
  name: string;
  prs: UsageRow["prs"];
  lines: UsageRow["lines"];
  compute_minutes: UsageRow["compute"];
  /** Each limit the agent's latest decision in this scope applied, with what is left of it now. */
  limits: Array<{ id: string; limit: number; used: number; remaining: number; over: boolean }>;
}

export interface BudgetAnswer {
  repo: string;
  agent: string;
  as_of: string;
  /** The repository's scope first, then the org's (`org_limits`); empty when the agent has no PR in the last 7 days here. */
  scopes: BudgetWindow[];
  note: string;
}

/** The answer for one repository and agent from `governor usage`'s rows: the repo's own scope and its org's. */
export function budgetAnswer(rows: readonly UsageRow[], repo: string, agent: string, now: Date): BudgetAnswer {
  const owner = repo.split("/")[0]!.toLowerCase();
  const mine = rows.filter((r) => r.agent === agent && (r.scope === "repo" ? r.name.toLowerCase() === repo.toLowerCase() : r.name.toLowerCase() === owner));
  return {
    repo,
    agent,
    as_of: now.toISOString(),
    scopes: mine.map((r) => ({
      scope: r.scope,
      name: r.name,
      prs: r.prs,
      lines: r.lines,
      compute_minutes: r.compute,
      limits: r.limits.map((l) => ({ id: l.id, limit: l.limit, used: l.used, remaining: Math.max(0, l.limit - l.used), over: l.over })),
    })),
    note:
      mine.length === 0
        ? "No pull request of this agent was evaluated here in the last 7 days: nothing is used yet, and the limits are known once one is."
        : "Windows are the 24 hours and 7 days before as_of; per-PR limits (max_files, max_lines) show the agent's largest PR of the last 24 hours.",
  };
}

export type BudgetApiHandler = ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>) & { close(): void };

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The route over the audit trail (PostgreSQL at `databaseUrl`, else the SQLite file at `databasePath`), read-only. */
export function budgetApi(opts: { tokens: readonly string[]; databasePath: string; databaseUrl?: string; clock?: () => Date }): BudgetApiHandler {
  // Opened read-only on first use, once (a failed open is tried again by the next request).
  let opening: Promise<AuditReader> | undefined;
  const reader = () =>
    (opening ??= openAuditReader({ databasePath: opts.databasePath, ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}) }).catch(
      (error: unknown) => {
        opening = undefined;
        throw error;
      },
    ));
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://governor.invalid");
    if (url.pathname !== BUDGET_PATH || opts.tokens.length === 0) return false;
    if (req.method !== "GET") return (send(res, 405, { error: "read-only: GET only" }, { allow: "GET" }), true);
    if (!bearerMatches(req.headers.authorization, opts.tokens))
      return (send(res, 401, { error: "a bearer token from GOVERNOR_API_TOKENS is required" }, { "www-authenticate": 'Bearer realm="governor"' }), true);
    const q = Query.safeParse(Object.fromEntries(url.searchParams));
    if (!q.success) return (send(res, 400, { error: q.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; ") }), true);
    const now = (opts.clock ?? (() => new Date()))();
    const rows = await budgetUsage((await reader()).audit, { now, org: q.data.repo.split("/")[0]!, agent: q.data.agent });
    send(res, 200, budgetAnswer(rows, q.data.repo, q.data.agent, now));
    return true;
  };
  const handle = (req: IncomingMessage, res: ServerResponse): Promise<boolean> => answer(req, res);
  return Object.assign(handle, { close: () => void opening?.then((r) => r.close()).catch(() => {}) });
}
