// Who counts as an agent: the built-in presets (sources in docs/agents.md) and the policy's custom agents.
import { Minimatch, minimatch } from "minimatch";
import type { Change } from "./change.js";
import type { AgentIdentity } from "./decision.js";
import type { AgentPreset, CustomAgent } from "./schema.js";

export interface AgentDefinition {
  name: string;
  /** PR author logins, compared case-insensitively (GitHub logins are case-insensitive). */
  logins: readonly string[];
  branches: readonly string[];
  labels: readonly string[];
  /** Commit author logins or e-mails, and co-author trailer e-mails, that only this agent writes. */
  commitAuthors: readonly string[];
  /** Actions workflow names or paths (globs) whose jobs are this agent's compute. */
  workflows?: readonly string[];
}

export const PRESETS: Record<AgentPreset, AgentDefinition> = {
  copilot: {
    name: "copilot",
    logins: ["Copilot", "copilot-swe-agent[bot]"],
    branches: ["copilot/**"],
    labels: [],
    commitAuthors: ["copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"],
    workflows: ["Copilot cloud agent", "Copilot coding agent", "dynamic/copilot-swe-agent/copilot"],
  },
  codex: { name: "codex", logins: ["chatgpt-codex-connector[bot]"], branches: ["codex/**"], labels: ["codex"], commitAuthors: [] },
  claude: { name: "claude", logins: ["claude[bot]"], branches: ["claude/**"], labels: [], commitAuthors: ["claude[bot]", "noreply@anthropic.com"] },
  devin: { name: "devin", logins: ["devin-ai-integration[bot]"], branches: ["devin/**"], labels: [], commitAuthors: ["devin-ai-integration[bot]"] },
  cursor: { name: "cursor", logins: ["cursor[bot]"], branches: ["cursor/**"], labels: [], commitAuthors: ["cursoragent@cursor.com", "cursor[bot]"] },
  jules: { name: "jules", logins: ["google-labs-jules[bot]"], branches: [], labels: [], commitAuthors: ["google-labs-jules[bot]"] },
  openhands: {
    name: "openhands",
    logins: ["openhands-agent", "openhands[bot]"],
    branches: ["openhands-fix-issue-*", "openhands/**"],
    labels: [],
    commitAuthors: ["openhands@all-hands.dev"],
  },
};

export function customDefinition(agent: CustomAgent): AgentDefinition {
  return { name: agent.name, logins: agent.logins, branches: agent.branches, labels: agent.labels, commitAuthors: [], workflows: agent.workflows };
}

const lower = (s: string) => s.toLowerCase();
/** Every preset's logins, lower-cased. */
const PRESET_LOGINS: ReadonlySet<string> = new Set(Object.values(PRESETS).flatMap((d) => d.logins.map(lower)));

/**
 * One definition from two of the same name (an org's custom agent and a repo's): the union of their signals, so an
 * org-defined agent stays recognised by everything the org said, whatever the repo writes under that name.
 */
export function unionDefinitions(a: AgentDefinition, b: AgentDefinition): AgentDefinition {
  const union = (x: readonly string[], y: readonly string[]) => [...new Set([...x, ...y])];
  return {
    name: a.name,
    logins: union(a.logins, b.logins),
    branches: union(a.branches, b.branches),
    labels: union(a.labels, b.labels),
    commitAuthors: union(a.commitAuthors, b.commitAuthors),
    workflows: union(a.workflows ?? [], b.workflows ?? []),
  };
}

/** Branch globs compiled once each (minimatch(path, glob) compiles on every call, on every decision). */
const branchGlobs = new Map<string, Minimatch>();
function branchMatches(branch: string, glob: string): boolean {
  let mm = branchGlobs.get(glob);
  if (!mm) {
    if (branchGlobs.size >= 1024) branchGlobs.clear();
    mm = new Minimatch(glob, { dot: true });
    branchGlobs.set(glob, mm);
  }
  return mm.match(branch);
}

/** A definition's signals in the form they are compared in, made once per definition (presets and compiled policies keep theirs). */
interface Prepared {
  logins: ReadonlySet<string>;
  labels: ReadonlySet<string>;
  commitAuthors: ReadonlySet<string>;
}
const prepared = new WeakMap<AgentDefinition, Prepared>();
function prepare(def: AgentDefinition): Prepared {
  let p = prepared.get(def);
  if (!p) {
    p = { logins: new Set(def.logins.map(lower)), labels: new Set(def.labels.map(lower)), commitAuthors: new Set(def.commitAuthors.map(lower)) };
    prepared.set(def, p);
  }
  return p;
}

/** The signals by which `change` matches `def`, strongest first; empty when it does not match. */
export function signalsFor(def: AgentDefinition, change: Change): AgentIdentity["signals"] {
  const signals: AgentIdentity["signals"] = [];
  const matched = def.name;
  const p = prepare(def);
  if (p.logins.has(lower(change.author.login))) signals.push({ kind: "login", matched, value: change.author.login });
  const branch = def.branches.find((g) => change.head_branch !== "" && branchMatches(change.head_branch, g));
  if (branch) signals.push({ kind: "branch", matched, value: change.head_branch });
  // GitHub label names are case-insensitive: "AI-Generated" is the label "ai-generated".
  const label = p.labels.size === 0 ? undefined : change.labels.find((l) => p.labels.has(lower(l)));
  if (label !== undefined) signals.push({ kind: "label", matched, value: label });
  const commitAuthor = p.commitAuthors.size === 0 ? undefined : change.commit_authors.find((a) => p.commitAuthors.has(lower(a)));
  if (commitAuthor !== undefined) signals.push({ kind: "commit_author", matched, value: commitAuthor });
  return signals;
}

const RANK: readonly string[] = ["forced", "login", "branch", "label", "commit_author", "recorded"];

/**
 * Every agent behind a change, the primary (strongest signal) first. Custom agents are tried before presets, each in
 * the order written, and a login match beats branch, label, commit and recorded signals, so the order of the policy
 * never changes which kind of signal wins. An agent in `change.known_agents` governed the PR before and still does
 * (signal `recorded`), even when its definition is gone: dropping a label or renaming a branch never un-governs a PR.
 */
export function identifyAgents(definitions: readonly AgentDefinition[], change: Change): AgentIdentity[] {
  const found = new Map<string, AgentIdentity>();
  const order: string[] = [];
  const signal = (name: string, s: AgentIdentity["signals"][number]) => {
    let identity = found.get(name);
    if (!identity) {
      identity = { name, signals: [] };
      found.set(name, identity);
      order.push(name);
    }
    if (!identity.signals.some((x) => x.kind === s.kind)) identity.signals.push(s);
  };
  if (change.agent_override) signal(change.agent_override, { kind: "forced", matched: change.agent_override, value: change.agent_override });
  for (const def of definitions) for (const s of signalsFor(def, change)) signal(def.name, s);
  for (const name of [...new Set(change.known_agents)].sort(byCodePoint)) signal(name, { kind: "recorded", matched: name, value: name });

  const rank = (identity: AgentIdentity) => Math.min(...identity.signals.map((s) => RANK.indexOf(s.kind)));
  return order
    .map((name, i) => ({ identity: found.get(name)!, i }))
    .map(({ identity, i }) => ({
      identity: { name: identity.name, signals: [...identity.signals].sort((a, b) => RANK.indexOf(a.kind) - RANK.indexOf(b.kind)) },
      i,
    }))
    .sort((a, b) => rank(a.identity) - rank(b.identity) || a.i - b.i)
    .map(({ identity }) => identity);
}

/** The primary agent behind a change (see identifyAgents), or null. */
export function identifyAgent(definitions: readonly AgentDefinition[], change: Change): AgentIdentity | null {
  return identifyAgents(definitions, change)[0] ?? null;
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True for accounts that can never count as a human approval: GitHub bots and any known agent login. */
export function isAutomatedAccount(login: string, type: string, definitions: readonly AgentDefinition[]): boolean {
  if (type === "Bot" || lower(login).endsWith("[bot]")) return true;
  const l = lower(login);
  return PRESET_LOGINS.has(l) || definitions.some((d) => prepare(d).logins.has(l));
}

/** A workflow job as recorded: its workflow's name and (when known) path. */
export interface WorkflowIdentity {
  workflow: string;
  path: string | null;
}

/** The agents whose `workflows` globs match a job's workflow name or path, sorted. */
export function workflowAgents(definitions: readonly AgentDefinition[], job: WorkflowIdentity): string[] {
  const hit = (glob: string) => minimatch(job.workflow, glob, { dot: true, nocase: true }) || (job.path !== null && minimatch(job.path, glob, { dot: true }));
  return definitions
    .filter((d) => (d.workflows ?? []).some(hit))
    .map((d) => d.name)
    .sort();
}
