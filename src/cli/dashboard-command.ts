// `governor dashboard --db FILE`: the audit dashboard for one person, read-only, on 127.0.0.1, without sign-in.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { type CliContext, UsageError } from "./context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("dashboard")
    .description("serve the audit dashboard for one audit file: read-only, on loopback, no sign-in (for a shared one, see governor serve and GITHUB_CLIENT_ID)")
    .requiredOption("--db <file>", "audit database file")
    .option("--port <port>", "port to listen on (0: any free port)", "3100")
    .option("--host <host>", "loopback address to listen on", "127.0.0.1")
    .action(async (opts: { db: string; port: string; host: string }) => {
      const databasePath = resolve(ctx.cwd, opts.db);
      if (!existsSync(databasePath)) throw new UsageError(`--db ${opts.db}: no such file`);
      if (!/^\d+$/.test(opts.port) || Number(opts.port) > 65535) throw new UsageError(`--port ${opts.port}: not a port number`);
      const { LocalDashboardError, startLocalDashboard } = await import("../dashboard/standalone.js");
      const { AuditSchemaError } = await import("../audit/schema.js");
      let running;
      try {
        running = await startLocalDashboard({ databasePath, port: Number(opts.port), host: opts.host, env: ctx.env });
      } catch (error) {
        if (error instanceof LocalDashboardError || error instanceof AuditSchemaError) throw new UsageError(error.message);
        throw error;
      }
      ctx.out(`governor dashboard: ${running.url}/dashboard (read-only view of ${databasePath}; Ctrl-C stops it)`);
      await new Promise<void>((done) => {
        const stop = () => void running.close().then(done);
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}
