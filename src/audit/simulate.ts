// Backtest a policy change: decide each PR's latest recorded input again under the new policy text.
import { compileInput, decide, PolicyCache } from "../policy/decide.js";
import type { Outcome } from "../policy/decision.js";
import { EvaluationInputSchema, type PolicySource } from "../policy/input.js";
import type { AuditRow } from "./store.js";
import { decisionTitle } from "../report/phrases.js";

export interface Transition {
  from: Outcome;
  to: Outcome;
  prs: Array<{ repo: string; pr: number; id: number; title: string }>;
}

export interface SimulationReport {
  considered: number;
  changed: number;
  transitions: Transition[];
  /** PRs the new policy lets through only because observe-mode rules do not block yet: what enforcing would stop. */
  wouldBlock: Array<{ repo: string; pr: number; id: number; outcome: Outcome; rules: string[] }>;
}

export interface NewPolicies {
  repo?: { text: string; path: string };
  org?: { text: string; path: string };
}

export function checkNewPolicies(policies: NewPolicies) {
  const sources: { org?: PolicySource; repo?: PolicySource } = {};
  if (policies.repo) sources.repo = { text: policies.repo.text, path: policies.repo.path };
  if (policies.org) sources.org = { text: policies.org.text, path: policies.org.path };
  return compileInput(sources);
}

/** Reads the rows as they come (an audit log's latestPerPr, from either store), one at a time. */
export async function simulate(rows: Iterable<AuditRow> | AsyncIterable<AuditRow>, policies: NewPolicies): Promise<SimulationReport> {
  const cache = new PolicyCache(64);
  const byTransition = new Map<string, Transition>();
  let considered = 0;
  let changed = 0;
  const wouldBlock: SimulationReport["wouldBlock"] = [];
  for await (const row of rows) {
    if (row.input === null) continue;
    const input = EvaluationInputSchema.parse(JSON.parse(row.input));
    // The baseline is today's evaluator on the recorded input, not the recorded outcome: a change of evaluator must
    // not be counted as the policy's effect.
    const before = decide(structuredClone(input), cache);
    // Keep where each policy was read from (so links stay right); swap only the text under test.
    if (policies.repo) input.policies.repo = { ...(input.policies.repo ?? { path: policies.repo.path }), text: policies.repo.text };
    if (policies.org) input.policies.org = { ...(input.policies.org ?? { path: policies.org.path }), text: policies.org.text };
    const after = decide(input, cache);
    considered++;
    const from = before.outcome;
    const to = after.outcome;
    const key = `${from}->${to}`;
    const t = byTransition.get(key) ?? { from, to, prs: [] };
    t.prs.push({ repo: row.repo, pr: row.pr, id: row.id, title: decisionTitle(after) });
    byTransition.set(key, t);
    if (from !== to) changed++;
    if (after.observed) wouldBlock.push({ repo: row.repo, pr: row.pr, id: row.id, outcome: after.observed.outcome, rules: after.observed.rules });
  }
  const transitions = [...byTransition.values()].sort(
    (a, b) => Number(a.from === a.to) - Number(b.from === b.to) || b.prs.length - a.prs.length || `${a.from}${a.to}`.localeCompare(`${b.from}${b.to}`),
  );
  return { considered, changed, transitions, wouldBlock };
}
