// `governor serve` with DATABASE_URL and the OAuth credentials serves the signed-in dashboard over PostgreSQL: the real
// process, sign-in through the simulator's OAuth endpoints, the decisions the stores wrote.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateAppKey, startAppProcess } from "../../src/demo/app-process.js";
import { DEMO_SCENARIO } from "../../src/demo/stack.js";
import { loadScenario, startSimulator } from "../../src/sim/index.js";
import { openPostgresStores } from "../../src/store/postgres/index.js";
import { oneOfEach } from "../helpers/audit.js";
import { tempDir } from "../helpers/cli.js";
import { freshDatabase } from "../helpers/postgres.js";

const CLIENT = "Iv1.servepg";
const SECRET = "serve-postgres-client-secret";
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

const cookieOf = (res: Response, name: string) => res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));

describe("governor serve with DATABASE_URL", () => {
  it("serves the signed-in dashboard over the PostgreSQL trail", async () => {
    const databaseUrl = await freshDatabase("serve_dashboard");
    const stores = openPostgresStores(databaseUrl);
    try {
      await stores.migrate();
      await stores.audit.append(oneOfEach());
    } finally {
      await stores.close();
    }
    const sim = await startSimulator();
    cleanup.push(() => sim.close());
    const scenario = loadScenario(sim, DEMO_SCENARIO);
    sim.server.oauth.addClient(CLIENT, SECRET);
    const app = await startAppProcess({
      appId: scenario.app!.id,
      privateKey: generateAppKey(),
      secret: "serve-postgres-secret",
      gheHost: sim.host,
      databasePath: join(tempDir(), "unused.db"),
      extraEnv: { DATABASE_URL: databaseUrl, GITHUB_CLIENT_ID: CLIENT, GITHUB_CLIENT_SECRET: SECRET, GOVERNOR_DASHBOARD_TEAMS: "acme/platform" },
    });
    cleanup.push(() => app.stop("SIGTERM"));
    expect((await fetch(`${app.url}/api/decisions`)).status).toBe(401);
    // Sign in as a member of acme/platform: login, the simulator's authorize form, the callback.
    const login = await fetch(`${app.url}/dashboard/login?next=/dashboard`, { redirect: "manual" });
    const state = cookieOf(login, "governor_oauth_state")!.split(";")[0]!;
    const authorize = new URL(login.headers.get("location")!);
    const granted = await fetch(`${sim.url}/login/oauth/authorize`, {
      method: "POST",
      body: new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), login: "olga" }),
      redirect: "manual",
    });
    const callback = await fetch(granted.headers.get("location")!, { headers: { cookie: state }, redirect: "manual" });
    const session = cookieOf(callback, "governor_session")?.split(";")[0];
    expect(session).toBeDefined();
    const api = await fetch(`${app.url}/api/decisions`, { headers: { cookie: session! } });
    expect(api.status).toBe(200);
    const items = ((await api.json()) as { items: Array<{ id: number; outcome: string }> }).items;
    expect(items.map((i) => i.id)).toEqual([6, 5, 4, 3, 2, 1]);
    const page = await (await fetch(`${app.url}/dashboard/decisions/1`, { headers: { cookie: session! } })).text();
    expect(page).toContain("replays identically");
  });
});
