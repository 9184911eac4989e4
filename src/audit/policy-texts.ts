// Policy texts, stored once each by their SHA-256, and referenced from the decisions that read them. An org's policy is
// read by thousands of evaluations; keeping a copy in each row made it most of the row and most of the cost of a write.
import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import { MissingPolicyTextError, resolveReferences } from "../store/policy-refs.js";
import { Lru } from "../util/lru.js";

/** What a stored input holds in place of a policy text. `text` is the only key of that name in an input. */
const REFERENCE = /"text":"\\u0000policy:sha256:([0-9a-f]{64})"/g;
const CACHE_LIMIT = 256;

export class PolicyTexts {
  private readonly insert: Database.Statement;
  private readonly select: Database.Statement;
  /** Texts read back, by hash: replay and export read the same few policies over and over. */
  private readonly cache = new Lru<string, string>(CACHE_LIMIT);
  private last: { sha: string; text: string } | undefined;
  /** Hashes of texts this writer has committed to the file (texts are never deleted but by tampering, which verify finds). */
  private readonly stored = new Lru<string, true>(CACHE_LIMIT);

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare("INSERT OR IGNORE INTO policy_texts (sha256, text) VALUES (?, ?)");
    this.select = db.prepare("SELECT text FROM policy_texts WHERE sha256 = ?");
  }

  /**
   * Inside the caller's write transaction: inserts each text not known to be in the file, once. A text counts as known
   * only after `committed`: a rolled-back transaction must not make a later row skip its text.
   */
  store(texts: Iterable<{ sha256: string; text: string }>): string[] {
    const written: string[] = [];
    for (const t of texts) {
      if (this.stored.get(t.sha256) || written.includes(t.sha256)) continue;
      this.insert.run(t.sha256, t.text);
      written.push(t.sha256);
    }
    return written;
  }

  /** The texts `store` wrote are committed: later rows referring to them need not insert them again. */
  committed(shas: readonly string[]): void {
    for (const sha of shas) this.stored.set(sha, true);
  }

  /** The stored input with its policy texts put back: exactly the JSON of the input that was evaluated. */
  hydrate(stored: string | null): string | null {
    if (stored === null || !stored.includes("\\u0000policy:sha256:")) return stored;
    return stored.replace(REFERENCE, (_, sha: string) => `"text":${JSON.stringify(this.text(sha))}`);
  }

  /**
   * A parsed stored input with its policy texts put back in place: cheaper than `hydrate` for readers that parse the
   * input anyway (replay), and every row then shares one string per text, which the policy cache hashes once.
   */
  resolve(parsed: unknown): unknown {
    return resolveReferences(parsed, (sha) => this.text(sha));
  }

  /** The hashes of the texts a stored input refers to. */
  static references(stored: string | null): string[] {
    return stored === null ? [] : [...stored.matchAll(REFERENCE)].map((m) => m[1] as string);
  }

  /** Whether the table holds the text now: asked of the table, not the read cache, since verify relies on it. */
  has(sha: string): boolean {
    return this.select.get(sha) !== undefined;
  }

  /** The first stored text whose content no longer matches its hash (edited after it was written). */
  verify(): { sha256: string; problem: string } | null {
    for (const row of this.db.prepare("SELECT sha256, text FROM policy_texts").iterate() as IterableIterator<{ sha256: string; text: string }>) {
      if (createHash("sha256").update(row.text).digest("hex") !== row.sha256)
        return { sha256: row.sha256, problem: `policy text ${row.sha256.slice(0, 12)} was edited: its content does not match its hash` };
    }
    return null;
  }

  private text(sha: string): string {
    // The text read last is the cache's most recent entry already (every read comes here): no need to touch it again.
    if (this.last?.sha === sha) return this.last.text;
    let text = this.cache.get(sha);
    if (text === undefined) {
      const row = this.select.get(sha) as { text: string } | undefined;
      // A missing text is a damaged file, not something to paper over; verify names it too.
      if (!row) throw new MissingPolicyTextError(sha);
      text = row.text;
      this.cache.set(sha, text);
    }
    this.last = { sha, text };
    return text;
  }
}
