// Who counts as an agent: the built-in presets (sources in docs/agents.md) and the policy's custom agents.
import { minimatch } from "minimatch";
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
}

export const PRESETS: Record<AgentPreset, AgentDefinition> = {
  copilot: { name: "copilot", logins: ["Copilot", "copilot-swe-agent[bot]"], branches: ["copilot/**"], labels: [], commitAuthors: ["copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"] },
  codex: { name: "codex", logins: ["chatgpt-codex-connector[bot]"], branches: ["codex/**"], labels: ["codex"], commitAuthors: [] },
  claude: { name: "claude", logins: ["claude[bot]"], branches: ["claude/**"], labels: [], commitAuthors: ["claude[bot]", "noreply@anthropic.com"] },
  devin: { name: "devin", logins: ["devin-ai-integration[bot]"], branches: ["devin/**"], labels: [], commitAuthors: ["devin-ai-integration[bot]"] },
  cursor: { name: "cursor", logins: ["cursor[bot]"], branches: ["cursor/**"], labels: [], commitAuthors: ["cursoragent@cursor.com", "cursor[bot]"] },
  jules: { name: "jules", logins: ["google-labs-jules[bot]"], branches: [], labels: [], commitAuthors: ["google-labs-jules[bot]"] },
  openhands: { name: "openhands", logins: ["openhands-agent", "openhands[bot]"], branches: ["openhands-fix-issue-*", "openhands/**"], labels: [], commitAuthors: ["openhands@all-hands.dev"] },
};

export function customDefinition(agent: CustomAgent): AgentDefinition {
  return { name: agent.name, logins: agent.logins, branches: agent.branches, labels: agent.labels, commitAuthors: [] };
}

const lower = (s: string) => s.toLowerCase();

/** The signals by which `change` matches `def`, strongest first; empty when it does not match. */
export function signalsFor(def: AgentDefinition, change: Change): AgentIdentity["signals"] {
  const signals: AgentIdentity["signals"] = [];
  const matched = def.name;
  const login = lower(change.author.login);
  if (def.logins.some((l) => lower(l) === login)) signals.push({ kind: "login", value: change.author.login, matched });
  const branch = def.branches.find((g) => change.head_branch !== "" && minimatch(change.head_branch, g, { dot: true }));
  if (branch) signals.push({ kind: "branch", value: change.head_branch, matched });
  const label = change.labels.find((l) => def.labels.includes(l));
  if (label !== undefined) signals.push({ kind: "label", value: label, matched });
  const authors = new Set(def.commitAuthors.map(lower));
  const commitAuthor = change.commit_authors.find((a) => authors.has(lower(a)));
  if (commitAuthor !== undefined) signals.push({ kind: "commit_author", value: commitAuthor, matched });
  return signals;
}

/**
 * Identifies the agent behind a change. Custom agents are tried before presets, each in the order written,
 * and a login match beats branch, label and commit signals, so the answer does not depend on luck of ordering.
 */
export function identifyAgent(definitions: readonly AgentDefinition[], change: Change): AgentIdentity | null {
  if (change.agent_override) {
    return { name: change.agent_override, signals: [{ kind: "forced", value: change.agent_override, matched: change.agent_override }] };
  }
  let best: { def: AgentDefinition; signals: AgentIdentity["signals"]; rank: number } | null = null;
  const rankOf = (kind: string) => ["login", "branch", "label", "commit_author"].indexOf(kind);
  for (const def of definitions) {
    const signals = signalsFor(def, change);
    const first = signals[0];
    if (!first) continue;
    const rank = rankOf(first.kind);
    if (!best || rank < best.rank) best = { def, signals, rank };
  }
  return best ? { name: best.def.name, signals: best.signals } : null;
}

/** True for accounts that can never count as a human approval: GitHub bots and any known agent login. */
export function isAutomatedAccount(login: string, type: string, definitions: readonly AgentDefinition[]): boolean {
  if (type === "Bot" || lower(login).endsWith("[bot]")) return true;
  const l = lower(login);
  return definitions.some((d) => d.logins.some((x) => lower(x) === l)) || Object.values(PRESETS).some((d) => d.logins.some((x) => lower(x) === l));
}
