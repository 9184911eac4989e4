// Reads the server's configuration from the usual Probot variables, with one clear error for everything missing.
import { createPrivateKey } from "node:crypto";
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { readApiTokens } from "../dashboard/budget-api.js";
import { type DashboardConfig, readDashboardConfig } from "../dashboard/config.js";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The caps on evaluations in flight (GOVERNOR_CONCURRENCY, GOVERNOR_PER_INSTALLATION): docs/operating.md, "Concurrency". */
export const DEFAULT_CONCURRENCY = 64;
export const DEFAULT_PER_INSTALLATION = 4;

const EnvSchema = z.object({
  APP_ID: z.string().regex(/^\d+$/, "APP_ID must be the numeric GitHub App id"),
  PRIVATE_KEY: z.string().optional(),
  PRIVATE_KEY_PATH: z.string().optional(),
  WEBHOOK_SECRET: z.string().min(1, "WEBHOOK_SECRET must not be empty"),
  WEBHOOK_PATH: z.string().startsWith("/").default("/api/github/webhooks"),
  GHE_HOST: z.string().optional(),
  GHE_PROTOCOL: z.enum(["http", "https"]).default("https"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
  LOG_FORMAT: z.enum(["json", "pretty"]).default("pretty"),
  DATABASE_PATH: z.string().default("governor.db"),
  PORT: z
    .string()
    .regex(/^\d+$/, "PORT must be a port number, 0 to 65535")
    .refine((p) => Number(p) <= 65_535, "PORT must be a port number, 0 to 65535")
    .default("3000"),
  HOST: z.string().default("0.0.0.0"),
  // A decision waits on GitHub most of its life, so the global cap is sized to cover GitHub's latency; the cap per
  // installation is what GitHub sees (a decision's calls are serial): a few at once. docs/operating.md, "Concurrency".
  GOVERNOR_CONCURRENCY: z.string().regex(/^\d+$/).default(String(DEFAULT_CONCURRENCY)),
  GOVERNOR_PER_INSTALLATION: z.string().regex(/^\d+$/).default(String(DEFAULT_PER_INSTALLATION)),
  GITHUB_TIMEOUT_MS: z.string().regex(/^\d+$/).default("10000"),
  GITHUB_RETRY_BASE_MS: z.string().regex(/^\d+$/).default("1000"),
  GOVERNOR_INBOX_RETENTION_DAYS: z.string().regex(/^\d+$/).default("7"),
  // Several replicas: PostgreSQL, each replica's lease length, and optionally a name that survives its restarts.
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// or postgresql:// URL")
    .optional(),
  GOVERNOR_LEASE_MS: z.string().regex(/^\d+$/).default("60000"),
  GOVERNOR_REPLICA_ID: z.string().optional(),
  GOVERNOR_REQUIRE_ORG_POLICY: z.enum(["true", "false"], { message: "GOVERNOR_REQUIRE_ORG_POLICY must be true or false" }).default("false"),
});

export interface ServerConfig {
  appId: number;
  privateKey: string;
  secret: string;
  webhookPath: string;
  /** The REST API base: https://api.github.com, or http(s)://GHE_HOST/api/v3 for GitHub Enterprise Server or the simulator. */
  baseUrl: string;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  /** JSON lines (LOG_FORMAT=json) or readable text; Governor's own lines and Probot's follow it alike. */
  logFormat?: "json" | "pretty";
  databasePath: string;
  /** PostgreSQL (DATABASE_URL): every replica shares it; absent: the SQLite file at databasePath. */
  databaseUrl?: string;
  /** How long a replica's claim on a delivery or check run lasts without a heartbeat (every third of it). Default 60 s. */
  leaseMs?: number;
  /** GOVERNOR_REPLICA_ID: this replica's name across restarts (then it takes back its own leases at once). */
  replicaId?: string;
  port: number;
  host: string;
  concurrency: number;
  perInstallation: number;
  /** How long a GitHub request may take before it is aborted and retried. */
  requestTimeoutMs?: number;
  /** Back-off base of retries after 5xx and network errors (the n-th retry waits n² times this). */
  retryBaseMs?: number;
  /** Finished deliveries are kept this many days (for redeliveries and debugging), then dropped. Default 7. */
  inboxRetentionDays?: number;
  /** A PR whose org's `.github` repository Governor cannot see fails closed instead of being judged without the org policy. */
  requireOrgPolicy?: boolean;
  /** How often the schedule of time-window re-evaluations is looked at. Default 15 s (a window takes effect within a minute). */
  reevaluateEveryMs?: number;
  /** How often the app's recent webhook deliveries are checked for failed ones to redeliver (default 5 minutes). */
  recoverEveryMs?: number;
  /** The clock (tests move it); default the system's. */
  clock?: () => Date;
  /** The audit dashboard (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, GOVERNOR_DASHBOARD_TEAMS); absent: off. */
  dashboard?: DashboardConfig;
  /** GOVERNOR_API_TOKENS: bearer tokens for the read-only budget endpoint (`governor mcp`'s budget_status); absent: off. */
  apiTokens?: string[];
}

export function readConfig(env: Record<string, string | undefined>, cwd: string): ServerConfig {
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")));
  if (!parsed.success) {
    // One line, every problem in it: a log collector keeps it whole.
    const problems = parsed.error.issues.map((i) => (i.code === "invalid_type" ? `${i.path.join(".")} is required` : `${i.path.join(".")}: ${i.message}`));
    throw new ConfigError(`cannot start: ${problems.join("; ")} (see README.md, "Install on an organization")`);
  }
  const e = parsed.data;
  let dashboard: DashboardConfig | null;
  try {
    dashboard = readDashboardConfig(env);
  } catch (error) {
    throw new ConfigError(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  }
  let apiTokens: string[];
  try {
    apiTokens = readApiTokens(env);
  } catch (error) {
    throw new ConfigError(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  }

  let privateKey = e.PRIVATE_KEY?.replace(/\\n/g, "\n");
  if (!privateKey && e.PRIVATE_KEY_PATH) {
    try {
      privateKey = readFileSync(resolve(cwd, e.PRIVATE_KEY_PATH), "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read PRIVATE_KEY_PATH ${e.PRIVATE_KEY_PATH}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  if (!privateKey || !privateKey.includes("PRIVATE KEY-----")) {
    throw new ConfigError("cannot start: set PRIVATE_KEY (the PEM text) or PRIVATE_KEY_PATH (a .pem file) to the GitHub App's private key");
  }
  checkPrivateKey(privateKey);
  if (e.GHE_HOST && /^[a-z][a-z0-9+.-]*:\/\//i.test(e.GHE_HOST)) {
    throw new ConfigError(
      `cannot start: GHE_HOST is a host name (and port), not a URL: write ${e.GHE_HOST.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/.*$/, "")} and set GHE_PROTOCOL=${/^http:/i.test(e.GHE_HOST) ? "http" : "https"} if needed`,
    );
  }
  const databasePath = resolve(cwd, e.DATABASE_PATH);
  checkDatabasePath(databasePath);
  return {
    appId: Number(e.APP_ID),
    privateKey,
    secret: e.WEBHOOK_SECRET,
    webhookPath: e.WEBHOOK_PATH,
    baseUrl: e.GHE_HOST ? `${e.GHE_PROTOCOL}://${e.GHE_HOST}/api/v3` : "https://api.github.com",
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    databasePath,
    ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
    leaseMs: Math.max(1000, Number(e.GOVERNOR_LEASE_MS)),
    ...(e.GOVERNOR_REPLICA_ID ? { replicaId: e.GOVERNOR_REPLICA_ID } : {}),
    port: Number(e.PORT),
    host: e.HOST,
    concurrency: Math.max(1, Number(e.GOVERNOR_CONCURRENCY)),
    perInstallation: Math.max(1, Number(e.GOVERNOR_PER_INSTALLATION)),
    requestTimeoutMs: Math.max(100, Number(e.GITHUB_TIMEOUT_MS)),
    retryBaseMs: Number(e.GITHUB_RETRY_BASE_MS),
    inboxRetentionDays: Math.max(1, Number(e.GOVERNOR_INBOX_RETENTION_DAYS)),
    requireOrgPolicy: e.GOVERNOR_REQUIRE_ORG_POLICY === "true",
    ...(dashboard ? { dashboard } : {}),
    ...(apiTokens.length ? { apiTokens } : {}),
  };
}

/** GitHub App keys are RSA, unencrypted: say so now rather than fail at the first JWT. */
function checkPrivateKey(pem: string): void {
  let key;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // OpenSSL says "interrupted or cancelled" when a key needs a passphrase that was not given.
    if (
      code === "ERR_MISSING_PASSPHRASE" ||
      code === "ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED" ||
      /BEGIN ENCRYPTED PRIVATE KEY|Proc-Type: 4,ENCRYPTED/.test(pem)
    ) {
      throw new ConfigError(
        "cannot start: the private key is encrypted (it asks for a passphrase); use the unencrypted .pem that GitHub generated for the app",
      );
    }
    throw new ConfigError("cannot start: the private key is not a readable PEM private key; use the .pem file GitHub generated for the app");
  }
  if (key.asymmetricKeyType !== "rsa") {
    throw new ConfigError(
      `cannot start: the private key is an ${(key.asymmetricKeyType ?? "unknown").toUpperCase()} key, not RSA; GitHub Apps sign with RSA (use the .pem GitHub generated for the app)`,
    );
  }
}

/** The audit database's folder must exist and be writable (and the file, when it exists): named in the error. */
function checkDatabasePath(path: string): void {
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new ConfigError(`cannot start: DATABASE_PATH ${path}: the folder ${folder} does not exist`);
  }
  const target = existsSync(path) ? path : folder;
  try {
    accessSync(target, constants.W_OK);
  } catch {
    throw new ConfigError(`cannot start: DATABASE_PATH ${path}: ${target === path ? "the file" : `the folder ${folder}`} is read-only for this user`);
  }
}
