// `governor mcp`: a Model Context Protocol server over stdio, so a coding agent can ask Governor before it acts:
// may I change these files, what covers this path, what may I touch at all. The policy is read like `check` reads
// it (the repo's at the base commit, the org's from a file or GitHub), afresh for every call.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { ChangedFileSchema, ChangeSchema } from "../policy/change.js";
import { decide } from "../policy/decide.js";
import { described } from "../policy/zod.js";
import type { Decision } from "../policy/decision.js";
import { explainer, refText } from "../cli/explain.js";
import { defaultBase, resolveCommit } from "../cli/git.js";
import { buildInput, type Caveat, checkAgentName, decisionCaveats, localPolicies, type LocalPolicies, repoName } from "../cli/preflight.js";
import { fetchBudget, governorRemote } from "./budget.js";
import { filesFromDiff } from "./diff.js";
import { policySummary } from "./summary.js";
import { decisionTitle, decisionSummary, escalationText } from "../report/phrases.js";

export interface McpOptions {
  /** The repository checkout to read the policy and commits from. */
  dir: string;
  env: Record<string, string | undefined>;
  base?: string;
  policy?: string;
  orgPolicy?: string;
  repo?: string;
  version: string;
}

/** A problem the agent should read and act on (no policy, unknown agent): returned as a tool error, not thrown. */
class ToolProblem extends Error {}

const AgentName = z
  .string()
  .min(1)
  .describe("Your agent name as Governor knows it: copilot, codex, claude, devin, cursor, jules, openhands, or a custom agent of the policy.");
// The policy's schemas are zod/mini: wrapped and described with functions rather than methods.
const Path = described(ChangedFileSchema.shape.path, "A repository-relative path with forward slashes, e.g. src/billing/charge.ts");

export function createGovernorMcpServer(opts: McpOptions): McpServer {
  const server = new McpServer(
    { name: "governor", version: opts.version },
    {
      instructions:
        "Governor decides whether a pull request by an AI coding agent may land in this repository (allowed, needs a human approval, or denied), by the repository's and the organization's .governance.yml. Call policy_summary at the start of a task, and check_change before you commit or open a pull request; do not spend work on paths it reports as denied.",
    },
  );

  const policies = async (): Promise<LocalPolicies & { base: string | null }> => {
    const base = opts.base ?? defaultBase(opts.dir);
    if (!base && !opts.policy) throw new ToolProblem("No base branch found (tried origin/HEAD, main, master): start governor mcp with --base REF.");
    const baseSha = base ? resolveCommit(base, opts.dir) : undefined;
    const local = await localPolicies({
      cwd: opts.dir,
      env: opts.env,
      ...(baseSha ? { baseSha } : {}),
      ...(opts.policy ? { policy: opts.policy } : {}),
      ...(opts.orgPolicy ? { orgPolicy: opts.orgPolicy } : {}),
      ...(opts.repo ? { repo: opts.repo } : {}),
    });
    if (!local.policies.org && !local.policies.repo)
      throw new ToolProblem(`This repository has no Governor policy${base ? ` at ${base}` : ""}: changes are not governed.`);
    return { ...local, base };
  };

  server.registerTool(
    "check_change",
    {
      title: "Check a change against the governance policy",
      description: [
        "Ask Governor whether a change you are about to make (or have made) would be allowed in a pull request, before you spend effort on it.",
        "Give either `paths` (the files you plan to add, modify, delete or rename; for a rename give both the old and the new path) or `diff` (a unified diff, e.g. the output of `git diff`), and your agent name.",
        "Returns the outcome: allowed (go ahead), needs_approval (a human must approve the PR; say so in the PR and expect a wait), or denied (do not make this change; the PR would fail). For each blocked path it returns the rule, the reason and whom to ask (escalation).",
        "Reviews, team membership and the daily PR budget are not known here; the returned caveats say so.",
      ].join(" "),
      inputSchema: {
        agent: AgentName,
        paths: z.array(Path).max(3000).optional().describe("Files the change touches. Lines are not counted when only paths are given."),
        diff: z
          .string()
          .max(16 * 1024 * 1024)
          .optional()
          .describe("A unified diff of the change (git diff output); its files and line counts are used."),
        branch: z.optional(ChangeSchema.shape.head_branch).describe("The branch the pull request will come from, if known."),
        labels: z.optional(ChangeSchema.shape.labels).describe("Labels the pull request will carry, if any."),
      },
    },
    async ({ agent, paths, diff, branch, labels }) =>
      answer(async () => {
        if ((paths === undefined) === (diff === undefined)) throw new ToolProblem("Give exactly one of `paths` or `diff`.");
        const local = await policies();
        checkAgentName(agent, local.policies);
        const files =
          diff !== undefined ? filesFromDiff(diff) : (paths ?? []).map((path) => ({ path, status: "modified" as const, additions: 0, deletions: 0 }));
        if (files.length === 0) throw new ToolProblem(diff !== undefined ? "The diff names no files." : "`paths` is empty.");
        const input = await buildInput(local, { files, agent, branch: branch ?? "", labels: labels ?? [], now: new Date().toISOString() });
        const decision = decide(input);
        const caveats = [...local.caveats, ...decisionCaveats(decision, { reviews: false, teams: false, prsToday: false, author: true, commits: true })];
        if (diff === undefined)
          caveats.push({ id: "lines", message: "Only paths were given: the lines budget (limits.max_lines) was not counted. Pass `diff` to count it." });
        return checkResult(decision, caveats, local.base);
      }),
  );

  server.registerTool(
    "explain_paths",
    {
      title: "Explain which governance rules cover paths",
      description:
        "For each path: which policy classes it belongs to, which rules cover it, for which agents, with which action (allow, require_approval, deny) and approvers, and why (the rule's reason and its line in the policy file). Use it to understand a denial, or before planning work in an unfamiliar part of the repository.",
      inputSchema: {
        paths: z.array(Path).min(1).max(500),
        agent: AgentName.optional().describe("Narrow the verdicts to this agent; without it, every agent the policy knows is shown."),
      },
    },
    async ({ paths, agent }) =>
      answer(async () => {
        const local = await policies();
        if (agent) checkAgentName(agent, local.policies);
        const explained = explainer(local.policies, { now: new Date().toISOString(), repoName: local.repo.name, ...(agent ? { agent } : {}) });
        if (!explained.ok)
          throw new ToolProblem(`The policy is invalid: ${explained.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join("; ")}`);
        return { base: local.base, paths: paths.map((p) => explained.explain(p)), caveats: local.caveats };
      }),
  );

  server.registerTool(
    "policy_summary",
    {
      title: "Summarize what an agent may change",
      description:
        "What the governance policy lets you (this agent) do in this repository: the paths you may change freely, those that need a human approval (and whose), those you may not touch at all (and whom to ask), what happens to paths no rule covers, and your limits (files and lines per pull request, pull requests per day). Call it at the start of a task.",
      inputSchema: { agent: AgentName },
    },
    async ({ agent }) =>
      answer(async () => {
        const local = await policies();
        checkAgentName(agent, local.policies);
        const explained = explainer(local.policies, { now: new Date().toISOString(), repoName: local.repo.name, agent });
        if (!explained.ok)
          throw new ToolProblem(`The policy is invalid: ${explained.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join("; ")}`);
        return { base: local.base, ...policySummary(explained, agent, new Date()), caveats: local.caveats };
      }),
  );

  // Only when pointed at a running Governor: the budget lives in its store, not in this checkout.
  const remote = governorRemote(opts.env);
  if (remote)
    server.registerTool(
      "budget_status",
      {
        title: "How much budget an agent has left",
        description: [
          "Ask the Governor server how much of your budget is left before you open another pull request or start a long run: pull requests, lines and compute minutes used in the last 24 hours and 7 days, per repository and across the organization, and for each limit the policy applies to you (max_prs_per_day, max_compute_minutes_per_day, ...) what is left.",
          "A limit with remaining 0 means the next pull request would be denied or held: stop and tell a human instead of opening it.",
        ].join(" "),
        inputSchema: {
          agent: AgentName,
          repo: z
            .string()
            .regex(/^[^/\s]+\/[^/\s]+$/)
            .optional()
            .describe("owner/name; default: this checkout's repository (--repo, GITHUB_REPOSITORY or the origin remote)."),
        },
      },
      async ({ agent, repo }) =>
        answer(async () => {
          const name =
            repo ??
            (() => {
              const r = repoName({ ...(opts.repo ? { repo: opts.repo } : {}), env: opts.env, cwd: opts.dir });
              if (!r.known)
                throw new ToolProblem("This checkout's repository is unknown (no --repo, GITHUB_REPOSITORY or origin remote): pass `repo` as owner/name.");
              return `${r.owner}/${r.name}`;
            })();
          return await fetchBudget(remote, { repo: name, agent });
        }),
    );

  return server;
}

type ToolResult = { content: Array<{ type: "text"; text: string }>; isError?: boolean };

async function answer(work: () => Promise<unknown>): Promise<ToolResult> {
  try {
    return { content: [{ type: "text", text: JSON.stringify(await work(), null, 2) }] };
  } catch (error) {
    // Usage problems (unknown agent, bad ref, no policy) are the agent's to read; anything else too, never a crash.
    return { content: [{ type: "text", text: error instanceof Error ? error.message : String(error) }], isError: true };
  }
}

/** The decision as an agent needs it: the outcome and, for each path that is blocked, the rule, reason and escalation. */
export function checkResult(decision: Decision, caveats: Caveat[], base: string | null) {
  const blocked = decision.rules.filter((r) => r.action === "deny" || (r.gate && !r.gate.met));
  const byPath = blocked.flatMap((r) =>
    r.files.map((path) => ({
      path,
      rule: r.id,
      action: r.action,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(escalationText(r) ? { escalate: escalationText(r) } : {}),
      ...(r.gate ? { approvers: r.gate.approvers } : {}),
      policy: refText(r.policy_ref),
    })),
  );
  const limits = blocked
    .filter((r) => r.files.length === 0)
    .map((r) => ({ rule: r.id, action: r.action, ...(r.reason ? { reason: r.reason } : {}), ...(escalationText(r) ? { escalate: escalationText(r) } : {}) }));
  return {
    outcome: decision.outcome,
    title: decisionTitle(decision),
    summary: decisionSummary(decision),
    base,
    agent: decision.agent?.name ?? null,
    blocked: byPath,
    limits,
    errors: decision.errors,
    caveats,
  };
}
