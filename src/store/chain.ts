// The hash chain, independent of where it is stored: rows built from entries exactly as src/audit/store.ts builds them
// (same fields, same rowHash, so the same hashes), and the verify walk with the same findings in the same words.
import { GENESIS_HASH, identityEffect, orgScope, rowHash } from "../audit/store.js";
import type { AgentPr } from "../audit/prepared.js";
import { isoTime } from "../util/iso-time.js";
import type { Appended, AuditRecord, VerifyResult } from "./ports.js";
import { references } from "./policy-refs.js";

export type { AgentPr };

function createdAt(row: AuditRecord): string {
  const created = row.input ? (JSON.parse(row.input) as { change?: { created_at?: string } }).change?.created_at : undefined;
  return created ?? row.recorded_at;
}

/** The budget entry a stored row implies (none without an agent). */
export function agentPrOf(row: AuditRecord): AgentPr | undefined {
  return row.agent ? { repo: row.repo, pr: row.pr, agent: row.agent, created_at: isoTime(createdAt(row)) } : undefined;
}

/** One budget place: (scope, repo, agent, pr) with its day and week positions (scope: the repo, or `org:<owner>`). */
export interface BudgetPlace {
  scope: string;
  repo: string;
  agent: string;
  pr: number;
  openedAt: string;
  position: number;
  weekPosition: number | null;
}

/** The budget places a stored row was decided with (a copy carries them, so verify's position check holds there). */
export function reservationsOf(row: AuditRecord): BudgetPlace[] {
  const opened = isoTime(createdAt(row));
  const out = new Map<string, BudgetPlace>();
  for (const p of placesOf(row.input)) {
    const scope = p.scope === "org" ? orgScope(row.repo.split("/")[0] ?? "") : row.repo;
    const key = `${scope}\n${p.agent}`;
    const place =
      out.get(key) ?? out.set(key, { scope, repo: row.repo, agent: p.agent, pr: row.pr, openedAt: opened, position: p.position, weekPosition: null }).get(key)!;
    if (p.window === "day") place.position = p.position;
    else place.weekPosition = p.position;
  }
  return [...out.values()];
}

/** Why `rows` do not continue the chain after `head` as hashed, or undefined when they do. */
export function importProblem(rows: readonly AuditRecord[], head: Appended | undefined): { id: number; problem: string } | undefined {
  let id = head?.id ?? 0;
  let prev = head?.hash ?? GENESIS_HASH;
  for (const row of rows) {
    if (row.id !== id + 1) return { id: row.id, problem: `row ${row.id} does not follow row ${id}` };
    if (row.prev_hash !== prev) return { id: row.id, problem: `row ${row.id} does not link to row ${id}` };
    const { hash, ...rest } = row;
    if (rowHash(rest) !== hash) return { id: row.id, problem: `row ${row.id} does not match its hash` };
    id = row.id;
    prev = hash;
  }
  return undefined;
}

/** What the verify walk reads from a store. */
export interface ChainSource {
  /** Columns or triggers the store never makes. */
  structureProblem(): Promise<string | undefined>;
  /** Every row as stored, by id. */
  rows(): AsyncIterable<AuditRecord>;
  /** The hashes of the stored policy texts, read from the table now. */
  textHashes(): Promise<Set<string>>;
  agentPrs(): Promise<AgentPr[]>;
  /** The first stored text whose content no longer matches its hash. */
  textProblem(): Promise<string | undefined>;
  /** The sticky identity table (pr_identities), when the store keeps one. */
  identities?(): Promise<Array<{ repo: string; pr: number; agent: string }>>;
  /** The budget place reserved for (scope, repo, agent, pr), when the store keeps them beside the chain. */
  position?(scope: string, repo: string, agent: string, pr: number): Promise<{ position: number; weekPosition: number | null } | undefined>;
}

type Usage = {
  prs_by_agent?: Record<string, number>;
  prs_by_agent_week?: Record<string, number>;
  org_prs_by_agent?: Record<string, number>;
  org_prs_by_agent_week?: Record<string, number>;
};

/** The budget places a decision was evaluated with, from its stored input (as AuditStore reads them). */
function placesOf(input: string | null): Array<{ scope: "repo" | "org"; window: "day" | "week"; agent: string; position: number }> {
  if (!input) return [];
  const usage = (JSON.parse(input) as { context?: { usage?: Usage } }).context?.usage ?? {};
  const out: Array<{ scope: "repo" | "org"; window: "day" | "week"; agent: string; position: number }> = [];
  const add = (scope: "repo" | "org", window: "day" | "week", map: Record<string, number> | undefined) => {
    for (const [agent, position] of Object.entries(map ?? {})) out.push({ scope, window, agent, position });
  };
  add("repo", "day", usage.prs_by_agent);
  add("repo", "week", usage.prs_by_agent_week);
  add("org", "day", usage.org_prs_by_agent);
  add("org", "week", usage.org_prs_by_agent_week);
  return out;
}

/** AuditStore.verify's walk over any store: the first problem found, in the same words. */
export async function verifyChain(source: ChainSource, opts: { expect?: Array<{ id: number; hash: string }> } = {}): Promise<VerifyResult> {
  const structural = await source.structureProblem();
  if (structural) return { rows: 0, broken: { id: null, problem: structural } };
  const texts = await source.textHashes();
  let prev = GENESIS_HASH;
  let expectedId = 1;
  let rows = 0;
  const hashes = new Map<number, string>();
  const budget = new Map<string, { agent: string; created_at: string }>();
  const identities = new Map<string, Set<string>>();
  for await (const row of source.rows()) {
    rows++;
    if (row.prev_hash !== prev) {
      const problem =
        row.id !== expectedId
          ? `rows ${expectedId}..${row.id - 1} are missing (deleted): row ${row.id} links to a hash that is not the row before it`
          : `row ${row.id} does not link to row ${row.id - 1}: a row was deleted, reordered or its hash altered`;
      return { rows, broken: { id: row.id, problem } };
    }
    const { hash, ...rest } = row;
    if (rowHash(rest) !== hash) return { rows, broken: { id: row.id, problem: `row ${row.id} was edited: its content does not match its hash` } };
    const missing = references(row.input).find((sha) => !texts.has(sha));
    if (missing) return { rows, broken: { id: row.id, problem: `row ${row.id} refers to policy text ${missing.slice(0, 12)}, which was deleted` } };
    if (opts.expect?.some((e) => e.id === row.id)) hashes.set(row.id, hash);
    const entry = agentPrOf(row);
    const key = `${row.repo}#${row.pr}`;
    if (entry && !budget.has(key)) budget.set(key, { agent: entry.agent, created_at: entry.created_at });
    const effect = identityEffect(row);
    if (effect.release) identities.delete(key);
    else for (const agent of effect.agents) (identities.get(key) ?? identities.set(key, new Set()).get(key)!).add(agent);
    if (source.position) {
      // The budget position a decision was made with must still be the reservation's: lowering one would pass a PR over budget.
      for (const { scope, window, agent, position } of placesOf(row.input)) {
        const reserved = await source.position(scope === "org" ? orgScope(row.repo.split("/")[0] ?? "") : row.repo, row.repo, agent, row.pr);
        const found = reserved ? (window === "day" ? reserved.position : (reserved.weekPosition ?? reserved.position)) : undefined;
        if (found !== position) {
          const what = `${agent}'s PR number ${position} of the ${window}${scope === "org" ? " across the org" : ""}`;
          return {
            rows,
            broken: { id: row.id, problem: `row ${row.id} was decided as ${what}, but the budget reservations say ${found ?? "nothing"}: they were edited` },
          };
        }
      }
    }
    prev = hash;
    expectedId = row.id + 1;
  }
  for (const anchor of opts.expect ?? []) {
    const found = hashes.get(anchor.id);
    if (found === undefined)
      return { rows, broken: { id: anchor.id, problem: `row ${anchor.id}, shown on GitHub, is not in the trail: rows were cut off or the chain rebuilt` } };
    if (!found.startsWith(anchor.hash.toLowerCase()))
      return {
        rows,
        broken: { id: anchor.id, problem: `row ${anchor.id} has hash ${found.slice(0, 16)}, not ${anchor.hash} as shown on GitHub: the chain was rebuilt` },
      };
  }
  const actual = await source.agentPrs();
  for (const row of actual) {
    const want = budget.get(`${row.repo}#${row.pr}`);
    if (!want || want.agent !== row.agent || want.created_at !== row.created_at) {
      return { rows, broken: { id: null, problem: `the budget table (agent_prs) does not follow from the decisions at ${row.repo}#${row.pr}: it was edited` } };
    }
  }
  if (actual.length !== budget.size)
    return { rows, broken: { id: null, problem: `the budget table (agent_prs) lacks ${budget.size - actual.length} agent PRs recorded in the decisions` } };
  if (source.identities) {
    const actual = await source.identities();
    const bad = actual.find((row) => !identities.get(`${row.repo}#${row.pr}`)?.has(row.agent));
    if (bad)
      return {
        rows,
        broken: { id: null, problem: `the identity table (pr_identities) does not follow from the decisions at ${bad.repo}#${bad.pr}: it was edited` },
      };
    const n = [...identities.values()].reduce((sum, set) => sum + set.size, 0);
    if (actual.length !== n)
      return {
        rows,
        broken: {
          id: null,
          problem: `the identity table (pr_identities) lacks ${n - actual.length} agent identities recorded in the decisions: a PR could shed its agent`,
        },
      };
  }
  const text = await source.textProblem();
  if (text) return { rows, broken: { id: null, problem: text } };
  return { rows, broken: null };
}
