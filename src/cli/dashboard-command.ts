// `governor dashboard --db FILE|postgres://…`: the audit dashboard for one person, read-only, on 127.0.0.1, without sign-in.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { type CliContext, UsageError } from "./context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("dashboard")
    .description(
      "serve the audit dashboard for one audit trail (a SQLite file or PostgreSQL): read-only, on loopback, no sign-in (for a shared one, see governor serve and GITHUB_CLIENT_ID)",
    )
    .option("--db <file|url>", "audit database: a SQLite file or a postgres:// URL (default: DATABASE_URL)")
    .option("--port <port>", "port to listen on (0: any free port)", "3100")
    .option("--host <host>", "loopback address to listen on", "127.0.0.1")
    .action(async (opts: { db?: string; port: string; host: string }) => {
      const db = opts.db ?? ctx.env["DATABASE_URL"];
      if (!db) throw new UsageError("--db FILE or --db postgres://… is required (or set DATABASE_URL)");
      if (!/^\d+$/.test(opts.port) || Number(opts.port) > 65535) throw new UsageError(`--port ${opts.port}: not a port number`);
      const { isPostgresUrl } = await import("../dashboard/open-source.js");
      const postgres = isPostgresUrl(db);
      // Anything else with a scheme is a mistyped URL, not a file name to look for.
      if (!postgres && /^[a-z][a-z0-9+.-]*:\/\//i.test(db))
        throw new UsageError(`--db ${db.split(":")[0]}:…: a database URL must be postgres:// or postgresql://`);
      const databasePath = postgres ? undefined : resolve(ctx.cwd, db);
      if (databasePath !== undefined && !existsSync(databasePath)) throw new UsageError(`--db ${db}: no such file`);
      const { LocalDashboardError, startLocalDashboard } = await import("../dashboard/standalone.js");
      const { AuditSchemaError } = await import("../audit/schema.js");
      const { StoreError } = await import("../store/errors.js");
      let running;
      try {
        running = await startLocalDashboard({
          ...(databasePath !== undefined ? { databasePath } : { databaseUrl: db }),
          port: Number(opts.port),
          host: opts.host,
          env: ctx.env,
        });
      } catch (error) {
        if (error instanceof LocalDashboardError || error instanceof AuditSchemaError || error instanceof StoreError) throw new UsageError(error.message);
        // A server that cannot be reached or refuses the login: say so in one line, without the URL's password.
        if (postgres && error instanceof Error) throw new UsageError(`--db: cannot read the audit trail in PostgreSQL: ${error.message}`);
        throw error;
      }
      ctx.out(`governor dashboard: ${running.url}/dashboard (read-only view of ${databasePath ?? redacted(db)}; Ctrl-C stops it)`);
      await new Promise<void>((done) => {
        const stop = () => void running.close().then(done);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}

/** The URL without its password: what is printed must not carry a secret. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "the PostgreSQL database";
  }
}
