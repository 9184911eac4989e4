// The dashboard in a real browser: the real app (governor serve's start) against the simulator records a demo run, and
// a person signs in with GitHub (the simulator's OAuth) to read it.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type DashboardConfig, parseTeams } from "../../src/dashboard/config.js";
import { generateAppKey } from "../../src/demo/app-process.js";
import { DEMO_SCENARIO, type Stack } from "../../src/demo/stack.js";
import { startGovernor } from "../../src/server/start.js";
import { loadScenario, startSimulator } from "../../src/sim/index.js";
import { launchChromium, signIn } from "./browser.js";

const REPO = "acme/webapp";
const SHOTS = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
/** Screenshots are written only when asked (GOVERNOR_SCREENSHOTS=1), so a test run leaves the tree as it was. */
const SAVE_SHOTS = process.env["GOVERNOR_SCREENSHOTS"] === "1";
const HOSTILE = `docs/<img src=x onerror=alert(1)>.md`;
const CLIENT_SECRET = "dashboard-client-secret-do-not-show";
const logs: string[] = [];

let s: Stack;
let browser: Browser;
let base: string;

async function open(o: Parameters<Stack["sim"]["openPullRequest"]>[0]) {
  const { pr, webhook } = s.sim.openPullRequest(o);
  const done = s.sim.waitForCheck(REPO, pr.number);
  expect((await s.sim.send(webhook)).status).toBe(202);
  return { pr, run: await done };
}

let missing: Error | undefined;

beforeAll(async () => {
  // A missing Chromium fails every test here with the reason (in beforeEach), rather than leaving them "skipped".
  try {
    browser = await launchChromium();
  } catch (error) {
    missing = error instanceof Error ? error : new Error(String(error));
    return;
  }
  // The stack of src/demo/stack.ts, with the dashboard configured: its GitHub addresses are the simulator's, known once it runs.
  const sim = await startSimulator();
  const scenario = loadScenario(sim, DEMO_SCENARIO);
  const secret = randomBytes(16).toString("hex");
  const databasePath = join(mkdtempSync(join(tmpdir(), "governor-dashboard-")), "governor.db");
  const dashboard: DashboardConfig = {
    clientId: "Iv1.dashboardtest",
    clientSecret: CLIENT_SECRET,
    webBase: sim.url,
    apiBase: sim.apiUrl,
    teams: parseTeams("acme/platform,acme/security"),
    sessionSecret: randomBytes(32),
    sessionTtlMs: 3_600_000,
    recheckMs: 250,
  };
  const governor = await startGovernor(
    {
      appId: scenario.app?.id ?? 1,
      privateKey: generateAppKey(),
      secret,
      webhookPath: "/api/github/webhooks",
      baseUrl: sim.apiUrl,
      logLevel: "fatal",
      databasePath,
      port: 0,
      host: "127.0.0.1",
      concurrency: 4,
      perInstallation: 4,
      dashboard,
    },
    (level, msg, extra) => void logs.push(JSON.stringify({ level, msg, ...extra })),
  );
  sim.target(governor.webhookUrl, secret);
  s = { sim, governor, secret, databasePath, close: async () => (await governor.close(), await sim.close()) };
  base = governor.url;
  sim.server.oauth.addClient("Iv1.dashboardtest", CLIENT_SECRET);
  // The demo policy with a break-glass list appended (its rule lines stay where they are).
  const demoPolicy = readFileSync(new URL("../../fixtures/sim/webapp.governance.yml", import.meta.url), "utf8");
  sim.commit(REPO, "main", { ".governance.yml": `${demoPolicy}overrides: { users: [oncall] }\n` });
  // A demo run: an allowed doc fix, a migration that needs the DBA and gets it, a denied billing change, a hostile file name.
  const copilot = { login: "Copilot", type: "Bot" as const };
  await open({
    repo: REPO,
    author: copilot,
    branch: "copilot/docs",
    title: "Fix the setup guide",
    files: [{ path: "docs/setup.md", content: "x\n", additions: 2, deletions: 1 }],
  });
  const mig = await open({
    repo: REPO,
    author: { login: "alice", type: "User" },
    branch: "codex/index",
    files: [{ path: "db/migrations/0002.sql", content: "x\n", status: "added", additions: 1, deletions: 0 }],
  });
  const before = mig.run.completedAtMs;
  const { webhook } = s.sim.review(REPO, mig.pr.number, { login: "dana", type: "User" }, "APPROVED");
  const done = s.sim.waitForCheck(REPO, mig.pr.number, before !== undefined ? { after: before } : {});
  await s.sim.send(webhook);
  await done;
  const devin = await open({
    repo: REPO,
    author: { login: "devin-ai-integration[bot]", type: "Bot" },
    branch: "devin/tax",
    title: "Round tax",
    files: [{ path: "src/billing/invoice.ts", content: "x\n", additions: 3, deletions: 0 }],
  });
  // The on-call engineer overrides the billing freeze for it; Copilot's cloud agent ran 12 minutes.
  await s.sim.send(
    s.sim.comment(REPO, devin.pr.number, { login: "oncall", type: "User" }, "/governance override tax rounding is broken in production, INC-88"),
  );
  await s.governor.worker.whenIdle();
  await s.sim.send(s.sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: "copilot/docs", minutes: 12 }).webhook);
  await s.governor.worker.whenIdle();
  await open({
    repo: REPO,
    author: copilot,
    branch: "copilot/hostile",
    title: "<script>alert(2)</script>",
    files: [{ path: HOSTILE, content: "x\n", additions: 1, deletions: 0 }],
  });
});

beforeEach(() => {
  if (missing) throw missing;
});

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

async function member(): Promise<{ context: BrowserContext; page: Page; dialogs: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on("dialog", (d) => void (dialogs.push(d.message()), d.dismiss()));
  const response = await signIn(page, base, "olga");
  expect(response.status()).toBe(302);
  return { context, page, dialogs };
}

describe("the dashboard in a browser", () => {
  it("sends a visitor without a session to GitHub's sign-in, with a state", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/dashboard/agents`);
    const url = new URL(page.url());
    expect(`${url.origin}${url.pathname}`).toBe(`${s.sim.url}/login/oauth/authorize`);
    expect(url.searchParams.get("client_id")).toBe("Iv1.dashboardtest");
    expect(url.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(url.searchParams.get("redirect_uri")).toBe(`${base}/dashboard/oauth/callback`);
    await context.close();
  });

  it("refuses the API without a session (401)", async () => {
    const res = await fetch(`${base}/api/decisions`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: expect.stringContaining("sign in") });
  });

  it("lets a team member sign in and shows the demo run's decisions, newest first, with a secure cookie", async () => {
    const { context, page, dialogs } = await member();
    expect(new URL(page.url()).pathname).toBe("/dashboard");
    expect(await page.locator("header .who strong").textContent()).toBe("olga");
    const rows = page.locator("main table tbody tr");
    expect(await rows.count()).toBe(6);
    const outcomes = await page.locator("main table tbody tr td:nth-child(6)").allTextContents();
    expect(outcomes).toEqual(["allowed", "allowed", "denied", "allowed", "needs approval", "allowed"]);
    const ids = (await page.locator("main table tbody tr td:first-child").allTextContents()).map((t) => Number(t.slice(1)));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const cookie = (await context.cookies()).find((c) => c.name === "governor_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: false });
    expect(cookie?.value).not.toContain("gho_");
    expect(await page.content()).not.toContain(CLIENT_SECRET);
    expect(logs.join("\n")).not.toMatch(new RegExp(`${CLIENT_SECRET}|gho_`));
    expect(dialogs).toEqual([]);
    if (SAVE_SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: `${SHOTS}decisions.png`, fullPage: true });
    }
    await context.close();
  });

  it("filters the decisions by outcome through the form", async () => {
    const { context, page } = await member();
    await page.getByLabel("Outcome").selectOption("denied");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/outcome=denied/);
    const outcomes = await page.locator("main table tbody tr td:nth-child(6)").allTextContents();
    expect(outcomes).toEqual(["denied"]);
    expect(await page.locator("main table tbody").textContent()).toContain("Denied: repo:billing-freeze");
    await context.close();
  });

  it("opens one decision and shows its rules, files, policy line, anchor and identical replay", async () => {
    const { context, page } = await member();
    await page.getByLabel("Outcome").selectOption("denied");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/outcome=denied/);
    await page.locator("main table tbody tr td:first-child a").first().click();
    await page.waitForURL(/\/dashboard\/decisions\/\d+$/);
    const id = Number(new URL(page.url()).pathname.split("/").pop());
    expect(await page.getByRole("heading", { level: 3 }).first().textContent()).toContain("repo:billing-freeze: deny (denied)");
    expect(await page.locator("section.rule").first().textContent()).toContain("src/billing/invoice.ts");
    const link = await page.getByRole("link", { name: /acme\/webapp:\.governance\.yml line 10/ }).getAttribute("href");
    expect(link).toMatch(new RegExp(`^${s.sim.url}/acme/webapp/blob/[0-9a-f]{40}/\\.governance\\.yml#L10$`));
    expect(await page.locator("#anchor").textContent()).toMatch(new RegExp(`^${id}:[0-9a-f]{16}$`));
    expect(await page.locator("#replay").textContent()).toContain("replays identically");
    if (SAVE_SHOTS) await page.screenshot({ path: `${SHOTS}decision.png`, fullPage: true });
    await page.getByRole("link", { name: /history of #/ }).click();
    await page.waitForURL(/\/dashboard\/prs\/acme\/webapp\/\d+$/);
    expect(await page.locator("h1").textContent()).toMatch(/^History of acme\/webapp#\d+$/);
    await context.close();
  });

  it("shows a PR's whole history, every evaluation with its anchor", async () => {
    const { context, page } = await member();
    await page.goto(`${base}/dashboard/prs/acme/webapp/2`);
    const outcomes = await page.locator("main table tbody tr td:nth-child(5)").allTextContents();
    expect(outcomes).toEqual(["needs approval", "allowed"]);
    expect(await page.locator("main table tbody tr td:nth-child(7)").allTextContents()).toEqual([
      expect.stringMatching(/^\d+:[0-9a-f]{16}$/),
      expect.stringMatching(/^\d+:[0-9a-f]{16}$/),
    ]);
    if (SAVE_SHOTS) await page.screenshot({ path: `${SHOTS}pr-history.png`, fullPage: true });
    await context.close();
  });

  it("draws the agents' charts with Chart.js", async () => {
    const { context, page } = await member();
    await page.goto(`${base}/dashboard/agents`);
    await page.waitForSelector("body[data-charts=drawn]", { timeout: 10_000 });
    // Counts the canvas pixels with any ink (the page's code runs in the browser, hence a string: no DOM types here).
    const painted = await page.evaluate<number[]>(`[...document.querySelectorAll("canvas")].map((c) => {
      const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let inked = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
      return inked;
    })`);
    expect(painted).toHaveLength(5);
    for (const inked of painted) expect(inked).toBeGreaterThan(500);
    // What the overrides and compute charts drew, per agent, from Chart.js's own instances.
    const drawn = await page.evaluate<Record<string, Record<string, number>>>(`Object.fromEntries(["chart-overrides", "chart-compute"].map((id) => [id,
      Object.fromEntries(window.Chart.getChart(document.getElementById(id)).data.datasets.map((d) => [d.label, d.data.reduce((a, b) => a + b, 0)]))]))`);
    expect(drawn).toEqual({ "chart-overrides": { codex: 0, copilot: 0, devin: 1 }, "chart-compute": { codex: 0, copilot: 12, devin: 0 } });
    expect(await page.locator("main table").first().textContent()).toContain("copilot");
    if (SAVE_SHOTS) await page.screenshot({ path: `${SHOTS}agents.png`, fullPage: true });
    for (const [path, name] of [
      ["/dashboard/budgets", "budgets"],
      ["/dashboard/verify", "verify"],
      ["/dashboard/overrides", "overrides"],
    ] as const) {
      await page.goto(`${base}${path}`);
      if (SAVE_SHOTS) await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
    }
    await context.close();
  });

  it("lists the demo run's override: who, why and the rule it lifted", async () => {
    const { context, page } = await member();
    await page.getByRole("link", { name: "Overrides" }).click();
    await page.waitForURL(/\/dashboard\/overrides$/);
    const cells = await page.locator("main table tbody tr").first().locator("td").allTextContents();
    expect(cells.slice(4)).toEqual(["devin", "@oncall", "tax rounding is broken in production, INC-88", "repo:billing-freeze"]);
    await context.close();
  });

  it("works without JavaScript: sign in, filter and open a decision", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    expect((await signIn(page, base, "olga")).status()).toBe(302);
    await page.getByLabel("Agent").fill("devin");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/agent=devin/);
    expect(await page.locator("main table tbody tr td:nth-child(5)").allTextContents()).toEqual(["devin", "devin"]);
    await page.locator("main table tbody tr td:first-child a").first().click();
    await page.waitForURL(/\/dashboard\/decisions\/\d+$/);
    expect(await page.locator("#anchor").textContent()).toMatch(/^\d+:[0-9a-f]{16}$/);
    await context.close();
  });

  it("shows hostile text from the trail as text, never as markup", async () => {
    const { context, page, dialogs } = await member();
    await page.goto(`${base}/dashboard?agent=copilot`);
    await page.locator("main table tbody tr td:first-child a").first().click();
    await page.waitForURL(/\/dashboard\/decisions\/\d+$/);
    expect(await page.locator("main").textContent()).toContain(HOSTILE);
    expect(await page.locator("main img").count()).toBe(0);
    expect(dialogs).toEqual([]);
    await context.close();
  });

  it("refuses a signed-in user who is not in an allowed team (403) and gives no session", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await signIn(page, base, "mallory");
    expect(response.status()).toBe(403);
    expect(await page.locator("main").textContent()).toContain("mallory is not a member of a team allowed to see the dashboard");
    expect((await context.cookies()).map((c) => c.name)).not.toContain("governor_session");
    await page.goto(`${base}/dashboard`);
    expect(page.url()).toContain("/login/oauth/authorize");
    await context.close();
  });

  it("ends the session of a member removed from the team at the next check", async () => {
    const { context, page } = await member();
    s.sim.addTeam("acme/platform", []);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const response = await page.goto(`${base}/dashboard`);
      expect(response?.status()).toBe(403);
      expect(await page.locator("main").textContent()).toContain("olga is no longer a member");
    } finally {
      s.sim.addTeam("acme/platform", ["olga"]);
    }
    await context.close();
  });

  it("signs out: the session cookie is gone and the next page asks to sign in again", async () => {
    const { context, page } = await member();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/dashboard\/signed-out$/);
    expect((await context.cookies()).map((c) => c.name)).not.toContain("governor_session");
    await page.goto(`${base}/dashboard`);
    expect(page.url()).toContain("/login/oauth/authorize");
    await context.close();
  });
});
