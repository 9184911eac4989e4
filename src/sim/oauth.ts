// The simulator's OAuth web flow (GitHub's /login/oauth/authorize and /access_token) and GET /user, so that sign-in to
// the dashboard is tested end to end. The authorize page asks who you are instead of a password: it is a simulator.
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

interface Client {
  secret: string;
}

interface Grant {
  clientId: string;
  login: string;
  redirectUri: string;
  expires: number;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export class SimOAuth {
  private readonly clients = new Map<string, Client>();
  private readonly codes = new Map<string, Grant>();
  private readonly tokens = new Map<string, string>();
  /** Every token exchange, for tests: which client, and whether it succeeded. */
  readonly exchanges: Array<{ clientId: string; ok: boolean; error?: string }> = [];

  addClient(clientId: string, secret: string): void {
    this.clients.set(clientId, { secret });
  }

  /** A user token for `login` without the browser dance (for API tests). */
  issueToken(login: string): string {
    const token = `gho_sim${randomBytes(12).toString("hex")}`;
    this.tokens.set(token, login);
    return token;
  }

  /** Answers the OAuth routes; false for everything else (the REST API). */
  serve(method: string, path: string, url: URL, req: IncomingMessage, body: string, res: ServerResponse): boolean {
    if (path === "/login/oauth/authorize" && method === "GET") return (this.authorizePage(url, res), true);
    if (path === "/login/oauth/authorize" && method === "POST") return (this.authorize(new URLSearchParams(body), res), true);
    if (path === "/login/oauth/access_token" && method === "POST") return (this.exchange(req, body, res), true);
    if (path === "/user" && method === "GET") return (this.user(req, res), true);
    return false;
  }

  private authorizePage(url: URL, res: ServerResponse): void {
    const clientId = url.searchParams.get("client_id") ?? "";
    if (!this.clients.has(clientId)) return void send(res, 404, "text/html", "<h1>404: no OAuth app with that client_id</h1>");
    const hidden = ["client_id", "redirect_uri", "state", "scope"]
      .map((k) => `<input type="hidden" name="${k}" value="${esc(url.searchParams.get(k) ?? "")}">`)
      .join("");
    send(
      res,
      200,
      "text/html",
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · GitHub simulator</title></head><body><main>
<h1>Sign in to the GitHub simulator</h1><p>Authorize the app <code>${esc(clientId)}</code> to know who you are and read your team membership.</p>
<form method="post" action="/login/oauth/authorize">${hidden}<label for="login">Username</label> <input id="login" name="login" required autofocus>
<button type="submit">Authorize</button></form></main></body></html>`,
    );
  }

  private authorize(form: URLSearchParams, res: ServerResponse): void {
    const clientId = form.get("client_id") ?? "";
    const login = (form.get("login") ?? "").trim();
    const redirectUri = form.get("redirect_uri") ?? "";
    if (!this.clients.has(clientId) || !login || !/^https?:\/\//.test(redirectUri)) return void send(res, 422, "text/plain", "bad authorize request");
    const code = randomBytes(10).toString("hex");
    this.codes.set(code, { clientId, login, redirectUri, expires: Date.now() + 600_000 });
    const back = new URL(redirectUri);
    back.searchParams.set("code", code);
    const state = form.get("state");
    if (state !== null) back.searchParams.set("state", state);
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  /** Like GitHub: errors come back as 200 with an `error` field; a code works once, for its client and redirect URI. */
  private exchange(req: IncomingMessage, body: string, res: ServerResponse): void {
    const type = req.headers["content-type"] ?? "";
    let p: Record<string, string>;
    try {
      p = type.includes("json") ? (JSON.parse(body) as Record<string, string>) : Object.fromEntries(new URLSearchParams(body));
    } catch {
      p = {};
    }
    const client = this.clients.get(p["client_id"] ?? "");
    const grant = this.codes.get(p["code"] ?? "");
    const error =
      !client || client.secret !== p["client_secret"]
        ? "incorrect_client_credentials"
        : !grant || grant.clientId !== p["client_id"] || grant.expires < Date.now()
          ? "bad_verification_code"
          : p["redirect_uri"] !== undefined && p["redirect_uri"] !== grant.redirectUri
            ? "redirect_uri_mismatch"
            : undefined;
    this.exchanges.push({ clientId: p["client_id"] ?? "", ok: !error, ...(error ? { error } : {}) });
    if (error || !grant) return void send(res, 200, "application/json", JSON.stringify({ error, error_description: error }));
    this.codes.delete(p["code"]!);
    send(res, 200, "application/json", JSON.stringify({ access_token: this.issueToken(grant.login), token_type: "bearer", scope: "read:org" }));
  }

  private user(req: IncomingMessage, res: ServerResponse): void {
    const token = (req.headers.authorization ?? "").replace(/^(Bearer|token)\s+/i, "");
    const login = this.tokens.get(token);
    if (!login) return void send(res, 401, "application/json", JSON.stringify({ message: "Bad credentials", status: "401" }));
    send(res, 200, "application/json", JSON.stringify({ login, id: login.length * 1000 + 7, type: "User", site_admin: false }));
  }
}

function send(res: ServerResponse, status: number, type: string, text: string): void {
  res.writeHead(status, { "content-type": `${type}; charset=utf-8` });
  res.end(text);
}
