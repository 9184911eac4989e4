// The dashboard's configuration from the environment. Without OAuth credentials it is off in `serve`.
import { randomBytes } from "node:crypto";
import { z } from "zod";

export class DashboardConfigError extends Error {
  override name = "DashboardConfigError";
}

export interface TeamRef {
  org: string;
  slug: string;
}

export interface DashboardConfig {
  clientId: string;
  clientSecret: string;
  /** Where users sign in: https://github.com, or http(s)://GHE_HOST. */
  webBase: string;
  /** The REST API: https://api.github.com, or http(s)://GHE_HOST/api/v3. */
  apiBase: string;
  /** Members of any of these teams may see the dashboard; nobody else. */
  teams: TeamRef[];
  /** The dashboard's public address (GOVERNOR_DASHBOARD_URL); https makes cookies Secure. Unset: taken from each request. */
  publicUrl?: string;
  /** Key of the cookies' HMAC: GOVERNOR_DASHBOARD_SESSION_SECRET, else random per process (sessions end at a restart anyway). */
  sessionSecret: Buffer;
  sessionTtlMs: number;
  /** Team membership is asked again once a session's last check is older than this. */
  recheckMs: number;
}

const EnvSchema = z.object({
  GITHUB_CLIENT_ID: z.string().optional(),
  GITHUB_CLIENT_SECRET: z.string().optional(),
  GHE_HOST: z.string().optional(),
  GHE_PROTOCOL: z.enum(["http", "https"]).default("https"),
  GOVERNOR_DASHBOARD_TEAMS: z.string().optional(),
  GOVERNOR_DASHBOARD_URL: z.url({ protocol: /^https?$/ }).optional(),
  GOVERNOR_DASHBOARD_SESSION_SECRET: z.string().min(32, "GOVERNOR_DASHBOARD_SESSION_SECRET must be at least 32 characters").optional(),
  GOVERNOR_DASHBOARD_SESSION_HOURS: z.string().regex(/^\d+$/).default("8"),
  GOVERNOR_DASHBOARD_RECHECK_MINUTES: z.string().regex(/^\d+$/).default("5"),
});

const TEAM = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/;

export function parseTeams(text: string): TeamRef[] {
  const teams = text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => {
      const m = TEAM.exec(t);
      if (!m) throw new DashboardConfigError(`GOVERNOR_DASHBOARD_TEAMS: ${JSON.stringify(t)} is not org/team-slug`);
      return { org: m[1]!, slug: m[2]! };
    });
  if (teams.length === 0)
    throw new DashboardConfigError("GOVERNOR_DASHBOARD_TEAMS is empty: name the teams whose members may see the dashboard (e.g. acme/platform,acme/security)");
  return teams;
}

/** The web and API bases of GitHub or of GitHub Enterprise Server (GHE_HOST). */
export function githubBases(env: Record<string, string | undefined>): { webBase: string; apiBase: string } {
  const host = env["GHE_HOST"];
  if (!host) return { webBase: "https://github.com", apiBase: "https://api.github.com" };
  const protocol = env["GHE_PROTOCOL"] === "http" ? "http" : "https";
  return { webBase: `${protocol}://${host}`, apiBase: `${protocol}://${host}/api/v3` };
}

/** null when GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are both unset: the dashboard is off. Half a configuration is an error. */
export function readDashboardConfig(env: Record<string, string | undefined>): DashboardConfig | null {
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")));
  if (!parsed.success) throw new DashboardConfigError(`dashboard: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const e = parsed.data;
  if (!e.GITHUB_CLIENT_ID && !e.GITHUB_CLIENT_SECRET) return null;
  if (!e.GITHUB_CLIENT_ID || !e.GITHUB_CLIENT_SECRET)
    throw new DashboardConfigError(
      "dashboard: set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (the app's OAuth credentials), or neither to leave the dashboard off",
    );
  if (!e.GOVERNOR_DASHBOARD_TEAMS)
    throw new DashboardConfigError(
      "dashboard: GOVERNOR_DASHBOARD_TEAMS is required with OAuth credentials (e.g. acme/platform,acme/security); without it nobody could be let in",
    );
  return {
    clientId: e.GITHUB_CLIENT_ID,
    clientSecret: e.GITHUB_CLIENT_SECRET,
    ...githubBases(env),
    teams: parseTeams(e.GOVERNOR_DASHBOARD_TEAMS),
    ...(e.GOVERNOR_DASHBOARD_URL ? { publicUrl: e.GOVERNOR_DASHBOARD_URL.replace(/\/+$/, "") } : {}),
    sessionSecret: e.GOVERNOR_DASHBOARD_SESSION_SECRET ? Buffer.from(e.GOVERNOR_DASHBOARD_SESSION_SECRET) : randomBytes(32),
    sessionTtlMs: Math.max(1, Number(e.GOVERNOR_DASHBOARD_SESSION_HOURS)) * 3_600_000,
    recheckMs: Math.max(1, Number(e.GOVERNOR_DASHBOARD_RECHECK_MINUTES)) * 60_000,
  };
}
