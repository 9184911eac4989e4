// `governor validate`, `governor schema` and `governor check`: the policy, offline.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { ChangeInput, ChangedFile, Review } from "../policy/change.js";
import { decide } from "../policy/decide.js";
import { EvaluationInputSchema, type PolicySource } from "../policy/input.js";
import { formatProblem, loadPolicy } from "../policy/load.js";
import { REPO_POLICY_PATHS } from "../policy/paths.js";
import { policyJsonSchema } from "../policy/schema.js";
import { filesFromGit, parseFileList } from "./changed-files.js";
import { type CliContext, EXIT, UsageError } from "./context.js";
import { renderDecision } from "./render-decision.js";

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
  program
    .command("validate")
    .description("check policy files; print file:line:column for each problem (exit 2 if any error)")
    .argument("[files...]", "policy files (default: the repo policy in the current directory)")
    .option("--org-policy <file>", "org policy file: check each repo file as combined with it (it may name the org's agents and rely on its approvers)")
    .option("--json", "print problems as JSON")
    .action((files: string[], opts: { json?: boolean; orgPolicy?: string }) => {
      const targets = files.length > 0 ? files : [findRepoPolicy(ctx.cwd)];
      const org = opts.orgPolicy ? { file: opts.orgPolicy, result: loadPolicy(readText(opts.orgPolicy, ctx.cwd), opts.orgPolicy) } : null;
      // An invalid org policy fails the run on its own errors; the repo files are then checked alone.
      const combined = org?.result.ok ? { org: org.result.loaded.policy } : {};
      const all = [...(org ? [org] : []), ...targets.map((file) => ({ file, result: loadPolicy(readText(file, ctx.cwd), file, combined) }))];
      if (opts.json) {
        ctx.out(JSON.stringify(all.map(({ file, result }) => ({
          file, valid: result.ok,
          errors: result.ok ? [] : result.errors,
          warnings: result.ok ? result.loaded.warnings : result.warnings,
        })), null, 2));
      }
      let failed = false;
      for (const { file, result } of all) {
        const warnings = result.ok ? result.loaded.warnings : result.warnings;
        if (!opts.json) for (const w of warnings) ctx.err(formatProblem(w));
        if (result.ok) {
          if (!opts.json) ctx.out(`${file}: valid${org && file !== org.file && org.result.ok ? ` with ${org.file}` : ""} (${result.loaded.policy.rules.length} rules, ${Object.keys(result.loaded.policy.classes).length} classes${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}` : ""})`);
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
    .description("evaluate a change against the policy without GitHub (exit 0 allowed, 3 needs approval, 4 denied, 2 invalid)")
    .option("--policy <file>", "repo policy file (default: .governance.yml or .github/governance.yml here)")
    .option("--org-policy <file>", "org policy file, combined so the repo can only tighten it")
    .option("--base <ref>", "changed files from git diff REF...HEAD")
    .option("--files-from <file>", "changed files from a list, numstat or name-status output ('-' for stdin)")
    .option("--repo <owner/name>", "the repository", "local/repo")
    .option("--author <login>", "PR author login", "local-user")
    .addOption(new Option("--author-type <type>", "PR author account type").choices(["User", "Bot"]).default("User"))
    .option("--branch <name>", "head branch (default: the current git branch)")
    .option("--label <label>", "a PR label (repeatable)", collect, [])
    .option("--commit-author <login-or-email>", "a commit author or co-author (repeatable)", collect, [])
    .option("--agent <name>", "force the agent identity")
    .option("--approved-by <login>", "an approval of the head commit (repeatable)", collect, [])
    .option("--changes-requested-by <login>", "a review requesting changes (repeatable)", collect, [])
    .option("--team <member:org/team>", "team membership for offline checks (repeatable)", collect, [])
    .option("--now <iso>", "evaluation time (default: now)", isoTime)
    .option("--prs-today <n>", "this agent's PRs in the repo over the last 24 h, this one included", nonNegativeInt, 1)
    .option("--json", "print the decision object (governor.decision/v1)")
    .action((opts: CheckOptions) => {
      const input = buildCheckInput(opts, ctx, () => readStdin());
      const decision = decide(input);
      ctx.out(opts.json ? JSON.stringify(decision, null, 2) : renderDecision(decision));
      const code = { allowed: EXIT.ok, not_governed: EXIT.ok, needs_approval: EXIT.needsApproval, denied: EXIT.denied, error: EXIT.usage }[decision.outcome];
      ctx.exit(code);
    });

}

interface CheckOptions {
  policy?: string;
  orgPolicy?: string;
  base?: string;
  filesFrom?: string;
  repo: string;
  author: string;
  authorType: string;
  branch?: string;
  label: string[];
  commitAuthor: string[];
  agent?: string;
  approvedBy: string[];
  changesRequestedBy: string[];
  team: string[];
  now?: string;
  prsToday: number;
  json?: boolean;
}

function readStdin(): string {
  return readFileSync(0, "utf8");
}

function currentBranch(cwd: string): string {
  try {
    return execFileSync("git", ["rev-parse", "--abbrev-ref", "HEAD"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

const HEAD_SHA = "0000000000000000000000000000000000000000";

export function buildCheckInput(opts: CheckOptions, ctx: CliContext, stdin: () => string) {
  const policyPath = opts.policy ?? findRepoPolicy(ctx.cwd);
  const policies: { org?: PolicySource; repo?: PolicySource } = {
    repo: { text: readText(policyPath, ctx.cwd), path: opts.policy ? policyPath : policyPath },
  };
  if (opts.orgPolicy) policies.org = { text: readText(opts.orgPolicy, ctx.cwd), path: opts.orgPolicy };

  if (opts.base && opts.filesFrom) throw new UsageError("use either --base or --files-from, not both");
  let files: ChangedFile[];
  if (opts.base) files = filesFromGit(opts.base, ctx.cwd);
  else if (opts.filesFrom) files = parseFileList(opts.filesFrom === "-" ? stdin() : readText(opts.filesFrom, ctx.cwd), opts.filesFrom);
  else throw new UsageError("say which files changed: --base REF or --files-from FILE|-");

  const [owner = "local", name = "repo"] = opts.repo.split("/");
  const teamMembers: Record<string, string[]> = {};
  for (const entry of opts.team) {
    const [member, team] = entry.split(":");
    if (!member || !team || !team.includes("/")) throw new UsageError(`--team ${entry}: expected MEMBER:org/team`);
    (teamMembers[team] ??= []).push(member);
  }
  const now = opts.now ?? new Date().toISOString();
  const reviews: Review[] = [
    ...opts.approvedBy.map((login) => ({ login, state: "APPROVED" as const })),
    ...opts.changesRequestedBy.map((login) => ({ login, state: "CHANGES_REQUESTED" as const })),
  ].map((r, i) => ({ id: i + 1, user: { login: r.login, type: r.login.endsWith("[bot]") ? "Bot" : "User" }, state: r.state, commit_id: HEAD_SHA, submitted_at: now }));

  const change: ChangeInput = {
    repo: { owner, name },
    author: { login: opts.author, type: opts.authorType },
    head_branch: opts.branch ?? currentBranch(ctx.cwd),
    head_sha: HEAD_SHA,
    labels: opts.label,
    commit_authors: opts.commitAuthor,
    files,
    reviews,
    team_members: teamMembers,
    ...(opts.agent ? { agent_override: opts.agent } : {}),
  };
  return EvaluationInputSchema.parse({ policies, change, context: { now, usage: { prs_today: opts.prsToday } } });
}
