// `governor serve` (the GitHub App server) and `governor demo` (the whole story against the local simulator).
import type { Command } from "commander";
import { lookup } from "node:dns/promises";
import { type CliContext, EXIT } from "./context.js";

/**
 * A GHE_HOST that DNS says does not exist is a configuration mistake (a typo), reported as such before starting. A
 * resolver that is slow or down is not, nor is api.github.com failing to resolve (an outage): the server starts, says
 * so in the log, and GitHub calls fail closed (and are retried) until DNS answers.
 */
async function checkResolvable(baseUrl: string, mistake: (message: string) => Error): Promise<void> {
  const host = new URL(baseUrl).hostname;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"slow">((resolve) => (timer = setTimeout(() => resolve("slow"), 2000)));
  try {
    await Promise.race([lookup(host), timeout]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTFOUND") throw mistake(`cannot start: DNS lookup failed for ${host} (ENOTFOUND): check GHE_HOST`);
  } finally {
    clearTimeout(timer);
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("serve")
    .description("run the GitHub App: webhook endpoint, durable inbox, /healthz and /metrics (configured by APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, ...)")
    .option("--port <port>", "port to listen on (default: PORT or 3000)")
    .option("--host <host>", "address to listen on (default: HOST or 0.0.0.0)")
    .action(async (opts: { port?: string; host?: string }) => {
      const { ConfigError, readConfig } = await import("../server/config.js");
      const { startGovernor } = await import("../server/start.js");
      const { createLog } = await import("../util/log.js");
      const fail = (error: unknown) => {
        if (!(error instanceof ConfigError)) throw error;
        ctx.err(`governor serve: ${error.message}`);
        ctx.exit(EXIT.usage);
      };
      let config;
      try {
        config = readConfig({ ...ctx.env, ...(opts.port ? { PORT: opts.port } : {}), ...(opts.host ? { HOST: opts.host } : {}) }, ctx.cwd);
        if (ctx.env["GHE_HOST"]) await checkResolvable(config.baseUrl, (m) => new ConfigError(m));
      } catch (error) {
        return fail(error);
      }
      const log = createLog({ level: config.logLevel, format: config.logFormat ?? "pretty", write: (line) => ctx.err(line) });
      let running;
      try {
        running = await startGovernor(config, log);
      } catch (error) {
        return fail(error);
      }
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
      ctx.exit(
        await runDemo({ ctx, keepServing: opts.serve === true, force: opts.force === true, ...(opts.db !== undefined ? { databasePath: opts.db } : {}) }),
      );
    });
}
