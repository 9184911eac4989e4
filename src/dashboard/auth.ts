// Sign-in with GitHub (OAuth authorization-code flow) and server-side sessions behind a signed cookie.
// The user's token stays in this process's memory: it is never sent to the browser, shown or logged.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DashboardConfig, TeamRef } from "./config.js";

export const SESSION_COOKIE = "governor_session";
export const STATE_COOKIE = "governor_oauth_state";
export const CALLBACK_PATH = "/dashboard/oauth/callback";
const STATE_TTL_S = 600;
const MAX_SESSIONS = 10_000;

import type { Log } from "../util/log.js";
export type { Log };

interface Session {
  id: string;
  login: string;
  token: string;
  createdAt: number;
  checkedAt: number;
}

export type Access =
  | { ok: true; login: string }
  | { ok: false; why: "no_session" }
  | { ok: false; why: "forbidden"; login: string }
  | { ok: false; why: "unavailable"; detail: string };

/** GitHub answered something other than yes or no: access is refused (fail closed) and the reason logged. */
export class GitHubAuthError extends Error {
  override name = "GitHubAuthError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export function parseCookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export class GitHubAuth {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly config: DashboardConfig,
    private readonly log: Log,
    private readonly now: () => number = Date.now,
    private readonly fetcher: typeof fetch = fetch,
  ) {}

  private sign(value: string): string {
    return `${value}.${createHmac("sha256", this.config.sessionSecret).update(value).digest("base64url")}`;
  }

  private unsign(signed: string | undefined): string | null {
    if (!signed) return null;
    const i = signed.lastIndexOf(".");
    if (i <= 0) return null;
    const value = signed.slice(0, i);
    const want = Buffer.from(this.sign(value));
    const got = Buffer.from(signed);
    return want.length === got.length && timingSafeEqual(want, got) ? value : null;
  }

  private base(req: IncomingMessage): string {
    return this.config.publicUrl ?? `http://${req.headers.host ?? "127.0.0.1"}`;
  }

  private cookie(name: string, value: string, opts: { maxAgeS: number; path: string }): string {
    const secure = (this.config.publicUrl ?? "").startsWith("https://") ? "; Secure" : "";
    return `${name}=${value}; Path=${opts.path}; Max-Age=${opts.maxAgeS}; HttpOnly; SameSite=Lax${secure}`;
  }

  /** Who is asking, checked against the teams again once the last check is older than `recheckMs`. */
  async access(req: IncomingMessage): Promise<Access> {
    const id = this.unsign(parseCookies(req).get(SESSION_COOKIE));
    const session = id ? this.sessions.get(id) : undefined;
    if (!session) return { ok: false, why: "no_session" };
    const now = this.now();
    if (now - session.createdAt >= this.config.sessionTtlMs) {
      this.sessions.delete(session.id);
      return { ok: false, why: "no_session" };
    }
    if (now - session.checkedAt >= this.config.recheckMs) {
      let member: boolean;
      try {
        member = await this.isMember(session.token, session.login);
      } catch (error) {
        this.log("warn", "dashboard: could not re-check team membership; access refused until GitHub answers", {
          login: session.login,
          error: String(error instanceof Error ? error.message : error),
        });
        return { ok: false, why: "unavailable", detail: "GitHub did not answer the team membership check" };
      }
      if (!member) {
        this.sessions.delete(session.id);
        this.log("info", "dashboard: session ended, the user is no longer in an allowed team", { login: session.login });
        return { ok: false, why: "forbidden", login: session.login };
      }
      session.checkedAt = now;
    }
    return { ok: true, login: session.login };
  }

  /** Step 1: to GitHub's authorize page with a fresh `state`, bound to this browser by a signed cookie. */
  startSignIn(req: IncomingMessage, res: ServerResponse, next: string): void {
    const state = randomBytes(24).toString("base64url");
    const url = new URL(`${this.config.webBase}/login/oauth/authorize`);
    url.searchParams.set("client_id", this.config.clientId);
    url.searchParams.set("redirect_uri", `${this.base(req)}${CALLBACK_PATH}`);
    url.searchParams.set("state", state);
    url.searchParams.set("scope", "read:org");
    res.writeHead(302, {
      location: url.toString(),
      "cache-control": "no-store",
      "set-cookie": this.cookie(STATE_COOKIE, this.sign(`${state}~${Buffer.from(safeNext(next)).toString("base64url")}`), {
        maxAgeS: STATE_TTL_S,
        path: "/dashboard/oauth",
      }),
    });
    res.end();
  }

  /**
   * Step 2: GitHub sends the browser back with `code` and `state`. The state must equal the one in this browser's cookie;
   * the code is exchanged for the user's token, then the user and their team membership are read with it.
   */
  async finishSignIn(
    req: IncomingMessage,
    url: URL,
  ): Promise<{ ok: true; cookie: string; next: string; login: string } | { ok: false; status: 400 | 403 | 503; why: string; login?: string }> {
    const stored = this.unsign(parseCookies(req).get(STATE_COOKIE));
    const state = url.searchParams.get("state");
    const code = url.searchParams.get("code");
    if (url.searchParams.get("error")) return { ok: false, status: 403, why: `GitHub did not authorize the sign-in (${url.searchParams.get("error")})` };
    if (!stored || !state || !code) return { ok: false, status: 400, why: "the sign-in link is incomplete or expired; start again" };
    const [want, nextEncoded] = stored.split("~");
    if (!want || !timingSafeEqualText(want, state)) return { ok: false, status: 400, why: "the sign-in state does not match this browser's; start again" };
    const next = safeNext(Buffer.from(nextEncoded ?? "", "base64url").toString("utf8"));
    let token: string;
    let login: string;
    let member: boolean;
    try {
      token = await this.exchange(code, `${this.base(req)}${CALLBACK_PATH}`);
      login = await this.user(token);
      member = await this.isMember(token, login);
    } catch (error) {
      this.log("warn", "dashboard: sign-in failed at GitHub", { error: String(error instanceof Error ? error.message : error) });
      return { ok: false, status: error instanceof GitHubAuthError && error.status === 401 ? 403 : 503, why: "GitHub did not confirm the sign-in; try again" };
    }
    if (!member) {
      this.log("info", "dashboard: refused a sign-in, not a member of an allowed team", { login });
      return { ok: false, status: 403, why: "not a member of a team allowed to see the dashboard", login };
    }
    const now = this.now();
    if (this.sessions.size >= MAX_SESSIONS) this.prune(now);
    const id = randomBytes(24).toString("base64url");
    this.sessions.set(id, { id, login, token, createdAt: now, checkedAt: now });
    this.log("info", "dashboard: signed in", { login });
    return { ok: true, cookie: this.cookie(SESSION_COOKIE, this.sign(id), { maxAgeS: Math.floor(this.config.sessionTtlMs / 1000), path: "/" }), next, login };
  }

  clearStateCookie(): string {
    return this.cookie(STATE_COOKIE, "", { maxAgeS: 0, path: "/dashboard/oauth" });
  }

  signOut(req: IncomingMessage): string {
    const id = this.unsign(parseCookies(req).get(SESSION_COOKIE));
    if (id) this.sessions.delete(id);
    return this.cookie(SESSION_COOKIE, "", { maxAgeS: 0, path: "/" });
  }

  private prune(now: number): void {
    for (const [id, s] of this.sessions) if (now - s.createdAt >= this.config.sessionTtlMs) this.sessions.delete(id);
    // Still full: the oldest sessions go first (Map keeps insertion order).
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
  }

  private async exchange(code: string, redirectUri: string): Promise<string> {
    const res = await this.fetcher(`${this.config.webBase}/login/oauth/access_token`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json" },
      body: JSON.stringify({ client_id: this.config.clientId, client_secret: this.config.clientSecret, code, redirect_uri: redirectUri }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown };
    if (!res.ok || typeof body.access_token !== "string")
      throw new GitHubAuthError(`token exchange answered ${res.status}${typeof body.error === "string" ? ` (${body.error})` : ""}`, res.status);
    return body.access_token;
  }

  private async api(token: string, path: string): Promise<Response> {
    return this.fetcher(`${this.config.apiBase}${path}`, {
      headers: {
        accept: "application/vnd.github+json",
        authorization: `Bearer ${token}`,
        "x-github-api-version": "2022-11-28",
        "user-agent": "governor-dashboard",
      },
      signal: AbortSignal.timeout(10_000),
    });
  }

  private async user(token: string): Promise<string> {
    const res = await this.api(token, "/user");
    const body = (await res.json().catch(() => ({}))) as { login?: unknown };
    if (!res.ok || typeof body.login !== "string") throw new GitHubAuthError(`GET /user answered ${res.status}`, res.status);
    return body.login;
  }

  /** Member of any allowed team, actively (a pending invitation is not membership). 404 and 403 mean no; other answers throw. */
  private async isMember(token: string, login: string): Promise<boolean> {
    for (const team of this.config.teams) if (await this.inTeam(token, team, login)) return true;
    return false;
  }

  private async inTeam(token: string, team: TeamRef, login: string): Promise<boolean> {
    const res = await this.api(token, `/orgs/${encodeURIComponent(team.org)}/teams/${encodeURIComponent(team.slug)}/memberships/${encodeURIComponent(login)}`);
    if (res.status === 404 || res.status === 403) return false;
    const body = (await res.json().catch(() => ({}))) as { state?: unknown };
    if (!res.ok) throw new GitHubAuthError(`GET team membership ${team.org}/${team.slug} answered ${res.status}`, res.status);
    return body.state === "active";
  }
}

function timingSafeEqualText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Where to go after signing in: only this dashboard's own pages, never another site (no open redirect). */
export function safeNext(next: string): string {
  return /^\/dashboard(?:[/?#]|$)/.test(next) && !next.includes("\\") && !next.startsWith("//") ? next : "/dashboard";
}
