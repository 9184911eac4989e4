// `governor explain` and `governor mcp`: asking the policy before acting, from a terminal or from a coding agent.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { type CliContext, EXIT, UsageError } from "./context.js";
import { explainer, renderExplanation } from "./explain.js";
import { resolveCommit } from "./git.js";
import { checkAgentName, localPolicies } from "./preflight.js";

interface SourceOptions {
  base?: string;
  policy?: string;
  orgPolicy?: string;
  repo?: string;
}

function isoTime(value: string): string {
  if (Number.isNaN(Date.parse(value))) throw new InvalidArgumentError("expected an ISO 8601 time, e.g. 2026-11-24T12:00:00Z");
  return new Date(value).toISOString();
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

const sourceOptions = (command: Command) =>
  command
    .option("--base <ref>", "read the repo policy at this commit, as the app reads it at the PR's base (default for explain: the working tree)")
    .option("--policy <file>", "repo policy file instead (working tree)")
    .option("--org-policy <file>", "org policy file (default with GITHUB_TOKEN: the org's .github/governance.yml)")
    .option("--repo <owner/name>", "the repository (default: GITHUB_REPOSITORY, else the origin remote)");

export function register(program: Command, ctx: CliContext): void {
  sourceOptions(
    program
      .command("explain")
      .description("for each path: the classes and rules that cover it, for which agents, with which action and approvers, and why")
      .argument("<paths...>", "repository-relative paths"),
  )
    .option("--agent <name>", "only this agent's verdict")
    .option("--now <iso>", "evaluation time, for rules with an active window (default: now)", isoTime)
    .option("--json", "print the explanations as JSON")
    .action(async (paths: string[], opts: SourceOptions & { agent?: string; now?: string; json?: boolean }) => {
      const baseSha = opts.base !== undefined ? resolveCommit(opts.base, ctx.cwd) : undefined;
      const local = await localPolicies({
        cwd: ctx.cwd,
        env: ctx.env,
        ...(baseSha ? { baseSha } : {}),
        ...(opts.policy ? { policy: opts.policy } : {}),
        ...(opts.orgPolicy ? { orgPolicy: opts.orgPolicy } : {}),
        ...(opts.repo ? { repo: opts.repo } : {}),
      });
      if (opts.agent) checkAgentName(opts.agent, local.policies);
      const explained = explainer(local.policies, {
        now: opts.now ?? new Date().toISOString(),
        repoName: local.repo.name,
        ...(opts.agent ? { agent: opts.agent } : {}),
      });
      if (!explained.ok) {
        for (const e of explained.errors)
          ctx.err(e.file ? `${e.file}:${e.line}:${e.column}: error: ${e.field ? `${e.field}: ` : ""}${e.message}` : `error: ${e.message}`);
        return ctx.exit(EXIT.usage);
      }
      const results = paths.map((p) => explained.explain(p.replace(/^\.\//, "")));
      if (opts.json) ctx.out(JSON.stringify({ paths: results, caveats: local.caveats }, null, 2));
      else {
        ctx.out(results.map(renderExplanation).join("\n\n"));
        for (const c of local.caveats) ctx.err(`note: ${c.message}`);
      }
      ctx.exit(EXIT.ok);
    });

  sourceOptions(program.command("mcp").description("serve the Model Context Protocol on stdio for coding agents: check_change, explain_paths, policy_summary"))
    .option("--dir <path>", "the repository checkout (default: the current directory)")
    .action(async (opts: SourceOptions & { dir?: string }) => {
      // Loaded here: only this command needs the MCP SDK.
      const [{ createGovernorMcpServer }, { StdioServerTransport }] = await Promise.all([
        import("../mcp/server.js"),
        import("@modelcontextprotocol/sdk/server/stdio.js"),
      ]);
      const dir = resolve(ctx.cwd, opts.dir ?? ".");
      if (opts.base?.startsWith("-")) throw new UsageError(`--base ${opts.base}: a revision cannot start with "-"`);
      const server = createGovernorMcpServer({
        dir,
        env: ctx.env,
        version: packageVersion(),
        ...(opts.base ? { base: opts.base } : {}),
        ...(opts.policy ? { policy: opts.policy } : {}),
        ...(opts.orgPolicy ? { orgPolicy: opts.orgPolicy } : {}),
        ...(opts.repo ? { repo: opts.repo } : {}),
      });
      // stdout carries the protocol from here on; nothing else may write to it.
      await server.connect(new StdioServerTransport());
    });
}
