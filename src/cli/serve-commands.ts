// `governor serve` (the GitHub App server) and `governor demo` (the whole story against the local simulator).
import type { Command } from "commander";
import { type CliContext, EXIT } from "./context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("serve")
    .description("run the GitHub App: webhook endpoint, durable inbox, /healthz and /metrics (configured by APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, ...)")
    .option("--port <port>", "port to listen on (default: PORT or 3000)")
    .option("--host <host>", "address to listen on (default: HOST or 0.0.0.0)")
    .action(async (opts: { port?: string; host?: string }) => {
      const { ConfigError, readConfig } = await import("../server/config.js");
      const { startGovernor } = await import("../server/start.js");
      let config;
      try {
        config = readConfig({ ...ctx.env, ...(opts.port ? { PORT: opts.port } : {}), ...(opts.host ? { HOST: opts.host } : {}) }, ctx.cwd);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        ctx.err(`governor serve: ${error.message}`);
        ctx.exit(EXIT.usage);
        return;
      }
      const log = (level: string, msg: string, extra?: Record<string, unknown>) =>
        ctx.err(JSON.stringify({ level, time: new Date().toISOString(), msg, ...extra }));
      const running = await startGovernor(config, log);
      ctx.out(`governor: listening on ${running.url} (webhooks at ${running.webhookUrl}; database ${config.databasePath})`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          log("info", "shutting down: finishing in-flight evaluations");
          void running.close().then(resolve);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });

  program
    .command("demo")
    .description("play the Governor story against a local GitHub simulator: no GitHub account needed")
    .option("--serve", "keep the simulator and the app running and print how to send your own webhooks")
    .option("--db <path>", "audit database file (default: governor-demo.db in the temporary folder)")
    .option("--force", "replace the --db file even when it is not a demo database")
    .action(async (opts: { serve?: boolean; db?: string; force?: boolean }) => {
      const { runDemo } = await import("../demo/run.js");
      ctx.exit(await runDemo({ ctx, keepServing: opts.serve === true, force: opts.force === true, ...(opts.db !== undefined ? { databasePath: opts.db } : {}) }));
    });
}
