// `governor validate`, `governor schema` and `governor check`: the policy, offline.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { config as zodConfig } from "zod/mini";
import type { ChangedFile } from "../policy/change.js";
import { decide } from "../policy/decide.js";
import type { PolicySource } from "../policy/input.js";
import { formatProblem, loadPolicy } from "../policy/load.js";
import { REPO_POLICY_PATHS } from "../policy/paths.js";
import { policyJsonSchema } from "../policy/schema.js";
import { parseFileList } from "./changed-files.js";
import { type CliContext, EXIT, UsageError } from "./context.js";
import { currentBranch, filesSince, resolveCommit } from "./git.js";
import { decisionAnnotations, reportValidateGithub, validateFormatOption } from "./github-format.js";
import { authorsSince, buildInput, decisionCaveats, localPolicies } from "./preflight.js";
import { renderCheck } from "./render-decision.js";

/** The repo policy file in `dir`; both files present is an error, as it is on GitHub. */
export function findRepoPolicy(dir: string): string {
  const found = REPO_POLICY_PATHS.filter((p) => existsSync(resolve(dir, p)));
  if (found.length > 1) throw new UsageError(`both ${found.join(" and ")} exist; keep one policy file`);
  const first = found[0];
  if (!first) throw new UsageError(`no policy file: expected ${REPO_POLICY_PATHS.join(" or ")} in ${dir} (or pass --policy FILE)`);
  return first;
}

function readText(path: string, cwd: string): string {
  try {
    return readFileSync(resolve(cwd, path), "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number");
  return n;
}

function isoTime(value: string): string {
  if (Number.isNaN(Date.parse(value))) throw new InvalidArgumentError("expected an ISO 8601 time, e.g. 2026-11-24T12:00:00Z");
  return new Date(value).toISOString();
}

export function register(program: Command, ctx: CliContext): void {
  // These commands parse each schema once per process: zod's JIT (a generated function per object schema) costs more
  // to compile than it saves on one parse. The same checks run either way; the long-running server keeps the JIT.
  zodConfig({ jitless: true });
  program
    .command("validate")
    .description("check policy files; print file:line:column for each problem (exit 2 if any error)")
    .argument("[files...]", "policy files (default: the repo policy in the current directory)")
    .option("--org-policy <file>", "org policy file: check each repo file as combined with it (it may name the org's agents and rely on its approvers)")
    .option("--json", "print problems as JSON")
    .addOption(validateFormatOption())
    .action((files: string[], opts: { json?: boolean; orgPolicy?: string; format?: string }) => {
      const targets = files.length > 0 ? files : [findRepoPolicy(ctx.cwd)];
      const org = opts.orgPolicy ? { file: opts.orgPolicy, result: loadPolicy(readText(opts.orgPolicy, ctx.cwd), opts.orgPolicy, { role: "org" }) } : null;
      // An invalid org policy fails the run on its own errors; the repo files are then checked alone.
      // With --org-policy the other files are repo policies, where org_limits is an error.
      const combined = org?.result.ok ? { org: org.result.loaded.policy, role: "repo" as const } : org ? { role: "repo" as const } : {};
      const all = [...(org ? [org] : []), ...targets.map((file) => ({ file, result: loadPolicy(readText(file, ctx.cwd), file, combined) }))];
      if (opts.format === "github") return reportValidateGithub(all, ctx);
      if (opts.json) {
        ctx.out(
          JSON.stringify(
            all.map(({ file, result }) => ({
              file,
              valid: result.ok,
              errors: result.ok ? [] : result.errors,
              warnings: result.ok ? result.loaded.warnings : result.warnings,
            })),
            null,
            2,
          ),
        );
      }
      let failed = false;
      for (const { file, result } of all) {
        const warnings = result.ok ? result.loaded.warnings : result.warnings;
        if (!opts.json) for (const w of warnings) ctx.err(formatProblem(w));
        if (result.ok) {
          if (!opts.json)
            ctx.out(
              `${file}: valid${org && file !== org.file && org.result.ok ? ` with ${org.file}` : ""} (${result.loaded.policy.rules.length} rules, ${Object.keys(result.loaded.policy.classes).length} classes${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}` : ""})`,
            );
        } else {
          failed = true;
          if (!opts.json) for (const e of result.errors) ctx.err(formatProblem(e));
        }
      }
      ctx.exit(failed ? EXIT.usage : EXIT.ok);
    });

  program
    .command("schema")
    .description("print the JSON Schema of .governance.yml v1 (for YAML language servers)")
    .action(() => ctx.out(JSON.stringify(policyJsonSchema(), null, 2)));

  program
    .command("check")
    .description("evaluate a change as the app would, before it is a PR (exit 0 allowed, 3 needs approval, 4 denied, 2 invalid)")
    .option("--policy <file>", "repo policy file (default: the repo policy at --base, else in the working tree)")
    .option("--org-policy <file>", "org policy file, combined so the repo can only tighten it (default with GITHUB_TOKEN: the org's .github/governance.yml)")
    .option("--base <ref>", "the PR's base: policy read at this commit, files from git diff REF...HEAD, commit authors from git log REF..HEAD")
    .option("--files-from <file>", "changed files from git diff --numstat/--name-status/--name-only output (-z too), or a list ('-' for stdin)")
    .option("--repo <owner/name>", "the repository (default: GITHUB_REPOSITORY, else the origin remote)")
    .option("--author <login>", "PR author login (default: local-user)")
    .addOption(new Option("--author-type <type>", "PR author account type").choices(["User", "Bot"]).default("User"))
    .option("--branch <name>", "head branch (default: the current git branch)")
    .option("--label <label>", "a PR label (repeatable)", collect, [])
    .option("--commit-author <login-or-email>", "a commit author or co-author, besides those in git log (repeatable)", collect, [])
    .option("--agent <name>", "force the agent identity (a preset or a custom agent of the policy)")
    .option("--approved-by <login>", "an approval of the head commit (repeatable)", collect, [])
    .option("--changes-requested-by <login>", "a review requesting changes (repeatable)", collect, [])
    .option("--team <member:org/team>", "team membership for offline checks (repeatable)", collect, [])
    .option("--now <iso>", "evaluation time (default: now)", isoTime)
    .option("--prs-today <n>", "this agent's PRs in the repo over the last 24 h, this one included (default: 1)", nonNegativeInt)
    .addOption(
      new Option("--format <format>", "output: text, json (governor.check/v1) or github (workflow annotations and text)").choices(["text", "json", "github"]),
    )
    .option("--json", "print the decision object only (governor.decision/v2)")
    .action(async (opts: CheckOptions) => {
      const { input, caveats, sources } = await buildCheckInput(opts, ctx, () => readStdin());
      const decision = decide(input);
      const all = [
        ...caveats,
        ...decisionCaveats(decision, {
          reviews: opts.approvedBy.length + opts.changesRequestedBy.length > 0,
          teams: opts.team.length > 0,
          prsToday: opts.prsToday !== undefined,
          author: opts.author !== undefined || opts.agent !== undefined,
          commits: opts.base !== undefined,
        }),
      ];
      // --json stays the bare decision object (governor.decision/v2) that scripts read; --format json adds the caveats.
      if (opts.json) ctx.out(JSON.stringify(decision, null, 2));
      else if (opts.format === "json") ctx.out(JSON.stringify({ schema: "governor.check/v1", decision, caveats: all, policies: sources }, null, 2));
      else {
        if (opts.format === "github") for (const line of decisionAnnotations(decision)) ctx.out(line);
        ctx.out(renderCheck(decision, all));
      }
      const code = { allowed: EXIT.ok, not_governed: EXIT.ok, needs_approval: EXIT.needsApproval, denied: EXIT.denied, error: EXIT.usage }[decision.outcome];
      ctx.exit(code);
    });
}

interface CheckOptions {
  policy?: string;
  orgPolicy?: string;
  base?: string;
  filesFrom?: string;
  repo?: string;
  author?: string;
  authorType: string;
  branch?: string;
  label: string[];
  commitAuthor: string[];
  agent?: string;
  approvedBy: string[];
  changesRequestedBy: string[];
  team: string[];
  now?: string;
  prsToday?: number;
  format?: "text" | "json" | "github";
  json?: boolean;
}

function readStdin(): string {
  return readFileSync(0, "utf8");
}

/** The input `check` evaluates, the caveats known before deciding, and where the policies came from. */
export async function buildCheckInput(opts: CheckOptions, ctx: CliContext, stdin: () => string) {
  const baseSha = opts.base !== undefined ? resolveCommit(opts.base, ctx.cwd) : undefined;
  const local = await localPolicies({
    cwd: ctx.cwd,
    env: ctx.env,
    ...(baseSha ? { baseSha } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.orgPolicy ? { orgPolicy: opts.orgPolicy } : {}),
    ...(opts.repo ? { repo: opts.repo } : {}),
  });
  let files: ChangedFile[];
  if (opts.filesFrom) files = parseFileList(opts.filesFrom === "-" ? stdin() : readText(opts.filesFrom, ctx.cwd), opts.filesFrom);
  else if (baseSha) files = filesSince(baseSha, ctx.cwd);
  else throw new UsageError("say which files changed: --base REF or --files-from FILE|-");
  const input = await buildInput(local, {
    files,
    branch: opts.branch ?? currentBranch(ctx.cwd),
    now: opts.now ?? new Date().toISOString(),
    ...(opts.author ? { author: opts.author } : {}),
    authorType: opts.authorType,
    labels: opts.label,
    commitAuthors: () => authorsSince(baseSha, ctx.cwd, opts.commitAuthor),
    ...(opts.agent ? { agent: opts.agent } : {}),
    approvedBy: opts.approvedBy,
    changesRequestedBy: opts.changesRequestedBy,
    team: opts.team,
    ...(opts.prsToday !== undefined ? { prsToday: opts.prsToday } : {}),
  });
  const describe = (s: PolicySource | undefined) => (s ? { path: s.path, ...(s.repo ? { repo: s.repo } : {}), ...(s.sha ? { sha: s.sha } : {}) } : null);
  return { input, caveats: local.caveats, sources: { repo: describe(local.policies.repo), org: describe(local.policies.org) } };
}
