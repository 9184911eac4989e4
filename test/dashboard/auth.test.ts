// Who may see the dashboard: GitHub sign-in through the simulator's OAuth endpoints, over HTTP, step by step.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/audit/store.js";
import { GitHubAuth } from "../../src/dashboard/auth.js";
import { type DashboardConfig, DashboardConfigError, parseTeams, readDashboardConfig } from "../../src/dashboard/config.js";
import { dashboardHandler } from "../../src/dashboard/index.js";
import { SqliteAuditSource } from "../../src/dashboard/sqlite-source.js";
import { DEMO_SCENARIO, type Stack, startStack } from "../../src/demo/stack.js";
import { readConfig } from "../../src/server/config.js";
import { loadScenario, type Simulator, startSimulator } from "../../src/sim/index.js";
import { oneOfEach } from "../helpers/audit.js";

const CLIENT = "Iv1.authtest";
const SECRET = "auth-test-client-secret";

let sim: Simulator;
let server: Server;
let url: string;
let logs: string[];
let clock: number;

async function start(config: Partial<DashboardConfig> = {}) {
  const path = join(mkdtempSync(join(tmpdir(), "governor-dashboard-auth-")), "audit.db");
  const store = openAuditStore(path);
  store.recordBatch(oneOfEach());
  store.close();
  const full: DashboardConfig = {
    clientId: CLIENT,
    clientSecret: SECRET,
    webBase: sim.url,
    apiBase: sim.apiUrl,
    teams: parseTeams("acme/platform"),
    sessionSecret: Buffer.from("s".repeat(32)),
    sessionTtlMs: 3_600_000,
    recheckMs: 300_000,
    ...config,
  };
  const log = (level: string, msg: string, extra?: Record<string, unknown>) => void logs.push(JSON.stringify({ level, msg, ...extra }));
  const handle = dashboardHandler({
    source: SqliteAuditSource.open(path),
    auth: { kind: "github", github: new GitHubAuth(full, log, () => clock) },
    htmlBase: sim.url,
    log,
  });
  server = createServer(
    (req, res) =>
      void handle(req, res).then((done) => {
        if (!done) {
          res.statusCode = 404;
          res.end();
        }
      }),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeEach(async () => {
  sim = await startSimulator();
  loadScenario(sim, DEMO_SCENARIO);
  sim.server.oauth.addClient(CLIENT, SECRET);
  logs = [];
  clock = Date.parse("2026-12-01T10:00:00Z");
});
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await sim.close();
});

const cookieOf = (res: Response, name: string) => res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));

/** The browser's part, by hand: /dashboard/login, the simulator's authorize form, back to the callback. */
async function signIn(login: string, tamper?: (callback: URL) => void): Promise<{ callback: Response; session: string | undefined }> {
  const start = await fetch(`${url}/dashboard/login?next=/dashboard/agents`, { redirect: "manual" });
  expect(start.status).toBe(302);
  const state = cookieOf(start, "governor_oauth_state")!.split(";")[0]!;
  const authorize = new URL(start.headers.get("location")!);
  const form = new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), login });
  const granted = await fetch(`${sim.url}/login/oauth/authorize`, { method: "POST", body: form, redirect: "manual" });
  const callback = new URL(granted.headers.get("location")!);
  tamper?.(callback);
  const res = await fetch(callback, { headers: { cookie: state }, redirect: "manual" });
  const set = cookieOf(res, "governor_session");
  return { callback: res, session: set ? set.split(";")[0] : undefined };
}

describe("dashboard sign-in", () => {
  it("gives a team member a session and sends them where they were going", async () => {
    await start();
    const { callback, session } = await signIn("olga");
    expect(callback.status).toBe(302);
    expect(callback.headers.get("location")).toBe("/dashboard/agents");
    expect(cookieOf(callback, "governor_session")).toMatch(/; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/);
    const api = await fetch(`${url}/api/decisions`, { headers: { cookie: session! } });
    expect(api.status).toBe(200);
    expect(((await api.json()) as { items: unknown[] }).items).toHaveLength(6);
  });

  it("refuses a callback whose state is not the one bound to this browser", async () => {
    await start();
    const { callback, session } = await signIn("olga", (u) => u.searchParams.set("state", "forged-state-value-forged-state-v"));
    expect(callback.status).toBe(400);
    expect(await callback.text()).toContain("does not match");
    expect(session).toBeUndefined();
  });

  it("refuses a callback without the state cookie (a link sent to someone else's browser)", async () => {
    await start();
    const start1 = await fetch(`${url}/dashboard/login`, { redirect: "manual" });
    const authorize = new URL(start1.headers.get("location")!);
    const granted = await fetch(`${sim.url}/login/oauth/authorize`, {
      method: "POST",
      body: new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), login: "olga" }),
      redirect: "manual",
    });
    const res = await fetch(granted.headers.get("location")!, { redirect: "manual" });
    expect(res.status).toBe(400);
    expect(cookieOf(res, "governor_session")).toBeUndefined();
  });

  it("refuses a non-member with 403 and no session", async () => {
    await start();
    const { callback, session } = await signIn("mallory");
    expect(callback.status).toBe(403);
    expect(session).toBeUndefined();
  });

  it("never follows a next= to another site after sign-in", async () => {
    await start();
    const res = await fetch(`${url}/dashboard/login?next=//evil.example/x`, { redirect: "manual" });
    const state = cookieOf(res, "governor_oauth_state")!.split(";")[0]!;
    const authorize = new URL(res.headers.get("location")!);
    const granted = await fetch(`${sim.url}/login/oauth/authorize`, {
      method: "POST",
      body: new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), login: "olga" }),
      redirect: "manual",
    });
    const back = await fetch(granted.headers.get("location")!, { headers: { cookie: state }, redirect: "manual" });
    expect(back.headers.get("location")).toBe("/dashboard");
  });

  it("refuses a forged or re-signed session cookie (401 from the API)", async () => {
    await start();
    const { session } = await signIn("olga");
    const [name, value] = session!.split("=") as [string, string];
    const forged = `${name}=${value.replace(/.$/, (c) => (c === "A" ? "B" : "A"))}`;
    expect((await fetch(`${url}/api/decisions`, { headers: { cookie: forged } })).status).toBe(401);
    expect((await fetch(`${url}/api/decisions`, { headers: { cookie: "governor_session=made-up.c2lnbmF0dXJl" } })).status).toBe(401);
  });

  it("ends a session after its lifetime", async () => {
    await start({ sessionTtlMs: 60_000, recheckMs: 3_600_000 });
    const { session } = await signIn("olga");
    expect((await fetch(`${url}/api/decisions`, { headers: { cookie: session! } })).status).toBe(200);
    clock += 60_000;
    expect((await fetch(`${url}/api/decisions`, { headers: { cookie: session! } })).status).toBe(401);
  });

  it("re-checks membership when the last check is older than the re-check interval, and fails closed when GitHub errs", async () => {
    await start({ recheckMs: 300_000 });
    const { session } = await signIn("olga");
    const calls = () => sim.requestLog().filter((r) => r.route.includes("/memberships/")).length;
    const before = calls();
    clock += 299_000;
    expect((await fetch(`${url}/api/decisions`, { headers: { cookie: session! } })).status).toBe(200);
    expect(calls()).toBe(before);
    clock += 2_000;
    sim.faults.add({ route: "/orgs/{org}/teams/{team_slug}/memberships/{username}", kind: "status", status: 502, times: 1 });
    expect((await fetch(`${url}/api/decisions`, { headers: { cookie: session! } })).status).toBe(503);
    expect((await fetch(`${url}/api/decisions`, { headers: { cookie: session! } })).status).toBe(200);
    expect(calls()).toBe(before + 2);
  });

  it("signs out with a POST: the session no longer opens anything", async () => {
    await start();
    const { session } = await signIn("olga");
    const out = await fetch(`${url}/dashboard/logout`, { method: "POST", headers: { cookie: session! }, redirect: "manual" });
    expect(out.status).toBe(302);
    expect(cookieOf(out, "governor_session")).toContain("Max-Age=0");
    expect((await fetch(`${url}/api/decisions`, { headers: { cookie: session! } })).status).toBe(401);
    const page = await fetch(`${url}/dashboard`, { headers: { cookie: session! }, redirect: "manual" });
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("/dashboard/login?next=%2Fdashboard");
  });

  it("marks cookies Secure when the public URL is https", async () => {
    await start({ publicUrl: "https://governor.acme.example" });
    const res = await fetch(`${url}/dashboard/login`, { redirect: "manual" });
    expect(cookieOf(res, "governor_oauth_state")).toMatch(/; Secure$/);
    expect(new URL(res.headers.get("location")!).searchParams.get("redirect_uri")).toBe("https://governor.acme.example/dashboard/oauth/callback");
  });

  it("never shows or logs the client secret or a user's token", async () => {
    await start();
    const { session } = await signIn("olga");
    await signIn("mallory");
    const pages = await Promise.all(
      ["/dashboard", "/dashboard/decisions/1", "/dashboard/verify", "/api/decisions/1"].map(async (p) =>
        (await fetch(`${url}${p}`, { headers: { cookie: session! } })).text(),
      ),
    );
    const everything = [...pages, ...logs, session!].join("\n");
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toMatch(/gho_/);
    expect(logs.some((l) => l.includes("refused a sign-in") && l.includes("mallory"))).toBe(true);
  });
});

describe("dashboard configuration", () => {
  it("is off without OAuth credentials", () => {
    expect(readDashboardConfig({})).toBeNull();
  });

  it("refuses half a configuration, or credentials without teams", () => {
    expect(() => readDashboardConfig({ GITHUB_CLIENT_ID: "x" })).toThrow(DashboardConfigError);
    expect(() => readDashboardConfig({ GITHUB_CLIENT_ID: "x", GITHUB_CLIENT_SECRET: "y" })).toThrow(/GOVERNOR_DASHBOARD_TEAMS is required/);
    expect(() => readDashboardConfig({ GITHUB_CLIENT_ID: "x", GITHUB_CLIENT_SECRET: "y", GOVERNOR_DASHBOARD_TEAMS: "platform" })).toThrow(/not org\/team-slug/);
  });

  it("uses GitHub Enterprise Server's addresses with GHE_HOST", () => {
    const c = readDashboardConfig({
      GITHUB_CLIENT_ID: "x",
      GITHUB_CLIENT_SECRET: "y",
      GOVERNOR_DASHBOARD_TEAMS: "acme/platform, acme/security",
      GHE_HOST: "ghe.acme.example",
    });
    expect(c).toMatchObject({
      webBase: "https://ghe.acme.example",
      apiBase: "https://ghe.acme.example/api/v3",
      teams: [
        { org: "acme", slug: "platform" },
        { org: "acme", slug: "security" },
      ],
      recheckMs: 300_000,
    });
  });

  it("makes governor serve refuse to start with half a configuration", () => {
    const env = { APP_ID: "1", PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----", WEBHOOK_SECRET: "s", GITHUB_CLIENT_ID: "x" };
    expect(() => readConfig(env, "/")).toThrow(/cannot start: dashboard: set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET/);
  });
});

describe("governor serve without OAuth credentials", () => {
  let stack: Stack;
  afterEach(async () => stack?.close());

  it("has no dashboard: its pages and API are not there", async () => {
    stack = await startStack();
    for (const path of ["/dashboard", "/api/decisions", "/"])
      expect([path, (await fetch(`${stack.governor.url}${path}`, { redirect: "manual" })).status]).toEqual([path, 404]);
  });
});
