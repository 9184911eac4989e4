// The hash chain, independent of where it is stored: rows built from entries exactly as src/audit/store.ts builds them
// (same fields, same rowHash, so the same hashes), and the verify walk with the same findings in the same words.
import { canonicalJson } from "../policy/canonical.js";
import { GENESIS_HASH, rowHash } from "../audit/store.js";
import type { Appended, AuditEntry, AuditRecord, StoredPolicyText, VerifyResult } from "./ports.js";
import { references, type PolicyRefs } from "./policy-refs.js";
import { decisionTitle } from "../report/phrases.js";

/** One PR's budget entry: the first agent seen keeps it, with the time the PR was opened. */
export interface AgentPr {
  repo: string;
  pr: number;
  agent: string;
  created_at: string;
}

/** One spelling per instant (2026-11-24T11:00:00.000Z), so that times compare correctly as text. */
export function isoTime(value: string): string {
  const t = Date.parse(value);
  return Number.isNaN(t) ? value : new Date(t).toISOString();
}

function createdAt(row: AuditRecord): string {
  const created = row.input ? (JSON.parse(row.input) as { change?: { created_at?: string } }).change?.created_at : undefined;
  return created ?? row.recorded_at;
}

/** The budget entry a stored row implies (none without an agent). */
export function agentPrOf(row: AuditRecord): AgentPr | undefined {
  return row.agent ? { repo: row.repo, pr: row.pr, agent: row.agent, created_at: isoTime(createdAt(row)) } : undefined;
}

/** Rows for `entries`, linked after `head`; the texts they refer to; and their budget entries (first per PR). */
export function chainRows(entries: readonly AuditEntry[], head: Appended | undefined, refs: PolicyRefs): { rows: AuditRecord[]; texts: StoredPolicyText[]; agentPrs: AgentPr[] } {
  let id = head?.id ?? 0;
  let prev = head?.hash ?? GENESIS_HASH;
  const texts = new Map<string, string>();
  const agentPrs = new Map<string, AgentPr>();
  const rows = entries.map((entry): AuditRecord => {
    id += 1;
    let input: string | null = null;
    if (entry.input) {
      const stashed = refs.stash(entry.input);
      input = stashed.stored;
      for (const t of stashed.texts) texts.set(t.sha256, t.text);
    }
    const row: Omit<AuditRecord, "hash"> = {
      id, recorded_at: entry.recorded_at, delivery_id: entry.delivery_id, installation_id: entry.installation_id,
      repo: entry.repo, pr: entry.pr, head_sha: entry.head_sha, base_sha: entry.base_sha, agent: entry.agent,
      outcome: entry.outcome, evaluator_version: entry.decision.evaluator_version, title: decisionTitle(entry.decision),
      decision: canonicalJson(entry.decision), input,
      input_missing_reason: entry.input ? null : (entry.input_missing_reason ?? "not recorded"),
      prev_hash: prev,
    };
    const hash = rowHash(row);
    const key = `${entry.repo}#${entry.pr}`;
    if (entry.agent && !agentPrs.has(key)) {
      agentPrs.set(key, { repo: entry.repo, pr: entry.pr, agent: entry.agent, created_at: isoTime(entry.input?.change.created_at ?? entry.recorded_at) });
    }
    prev = hash;
    return { ...row, hash };
  });
  return { rows, texts: [...texts].map(([sha256, text]) => ({ sha256, text })), agentPrs: [...agentPrs.values()] };
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
  for await (const row of source.rows()) {
    rows++;
    if (row.prev_hash !== prev) {
      const problem = row.id !== expectedId
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
    prev = hash;
    expectedId = row.id + 1;
  }
  for (const anchor of opts.expect ?? []) {
    const found = hashes.get(anchor.id);
    if (found === undefined) return { rows, broken: { id: anchor.id, problem: `row ${anchor.id}, shown on GitHub, is not in the trail: rows were cut off or the chain rebuilt` } };
    if (!found.startsWith(anchor.hash.toLowerCase())) return { rows, broken: { id: anchor.id, problem: `row ${anchor.id} has hash ${found.slice(0, 16)}, not ${anchor.hash} as shown on GitHub: the chain was rebuilt` } };
  }
  const actual = await source.agentPrs();
  for (const row of actual) {
    const want = budget.get(`${row.repo}#${row.pr}`);
    if (!want || want.agent !== row.agent || want.created_at !== row.created_at) {
      return { rows, broken: { id: null, problem: `the budget table (agent_prs) does not follow from the decisions at ${row.repo}#${row.pr}: it was edited` } };
    }
  }
  if (actual.length !== budget.size) return { rows, broken: { id: null, problem: `the budget table (agent_prs) lacks ${budget.size - actual.length} agent PRs recorded in the decisions` } };
  const text = await source.textProblem();
  if (text) return { rows, broken: { id: null, problem: text } };
  return { rows, broken: null };
}
