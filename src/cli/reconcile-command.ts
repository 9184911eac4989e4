// `governor reconcile [--installation ID] [--repo OWNER/NAME]`: every open PR evaluated now; prints what changed.
import { type Command, InvalidArgumentError } from "commander";
import { type CliContext, EXIT } from "./context.js";

export function register(program: Command, ctx: CliContext): void {
  program
    .command("reconcile")
    .description(
      "evaluate every open PR of the app's installations now and print what changed (configured like serve: APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, ...)",
    )
    .option("--installation <id>", "only this installation", (v: string) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError("expected an installation id");
      return Number(v);
    })
    .option("--repo <owner/name>", "only this repository (of --installation, or of each installation)", (v: string) => {
      if (!/^[^/\s]+\/[^/\s]+$/.test(v)) throw new InvalidArgumentError("expected owner/name");
      return v;
    })
    .option("--json", "the report as JSON")
    .action(async (opts: { installation?: number; repo?: string; json?: boolean }) => {
      const { ConfigError, readConfig } = await import("../server/config.js");
      const { reconcile } = await import("../server/reconcile.js");
      let config;
      try {
        config = readConfig(ctx.env, ctx.cwd);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        ctx.err(`governor reconcile: ${error.message}`);
        return ctx.exit(EXIT.usage);
      }
      const report = await reconcile(
        { ...config, logLevel: "fatal" },
        { ...(opts.installation !== undefined ? { installation: opts.installation } : {}), ...(opts.repo ? { repo: opts.repo } : {}) },
      );
      if (opts.json) ctx.out(JSON.stringify(report, null, 2));
      else {
        ctx.out(
          `${report.evaluated} open PRs evaluated; ${report.changed.length} changed${report.failed.length ? `; ${report.failed.length} could not be evaluated` : ""}`,
        );
        for (const c of report.changed) ctx.out(`  ${c.repo}#${c.pr}: ${c.from ?? "(none)"} -> ${c.to}: ${c.title}`);
        for (const f of report.failed) ctx.out(`  ${f.repo}#${f.pr}: failed: ${f.error}`);
      }
      if (report.failed.length > 0) ctx.exit(EXIT.internal);
    });
}
