import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { Inbox } from "../../src/server/inbox.js";
import type { Relevance } from "../../src/server/relevance.js";
import { tempDir } from "../helpers/cli.js";

const relevant = (prKey: string | null, installationId = 1, headSha = "a"): Relevance => ({ evaluate: true, installationId, prKey, headSha });
const free = { prKeys: new Set<string>(), perInstallation: new Map<number, number>(), installationLimit: 10 };

function openInbox(path = join(tempDir(), "inbox.db")) {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  return { inbox: new Inbox(db), db, path };
}

function accept(inbox: Inbox, id: string, relevance: Relevance) {
  return inbox.accept({ id, event: "pull_request", action: "synchronize", payload: `{"n":"${id}"}`, relevance });
}

describe("inbox", () => {
  it("stores a delivery once and reports a repeated delivery id as duplicate", () => {
    const { inbox } = openInbox();
    expect(accept(inbox, "d1", relevant("acme/web#1")).status).toBe("queued");
    expect(accept(inbox, "d1", relevant("acme/web#1")).status).toBe("duplicate");
    expect(inbox.depth()).toBe(1);
  });

  it("records deliveries that do not evaluate as ignored, with the reason", () => {
    const { inbox } = openInbox();
    expect(
      inbox.accept({
        id: "x",
        event: "issues",
        action: "opened",
        payload: "{}",
        relevance: { evaluate: false, why: "event issues is not one Governor evaluates", installationId: 1, prKey: null, headSha: null },
      }).status,
    ).toBe("ignored");
    expect(inbox.statusOf("x")).toEqual({ status: "ignored", note: "event issues is not one Governor evaluates", attempts: 0 });
    expect(inbox.depth()).toBe(0);
  });

  it("coalesces queued deliveries of one PR: claims the newest, supersedes the older", () => {
    const { inbox } = openInbox();
    accept(inbox, "d1", relevant("acme/web#1", 1, "sha1"));
    accept(inbox, "d2", relevant("acme/web#2"));
    accept(inbox, "d3", relevant("acme/web#1", 1, "sha3"));
    const claimed = inbox.claim(10, free);
    expect(claimed.map((d) => d.id)).toEqual(["d3", "d2"]);
    expect(inbox.statusOf("d1")).toEqual({ status: "superseded", note: "superseded by delivery d3", attempts: 0 });
  });

  it("does not claim a PR that is already being evaluated", () => {
    const { inbox } = openInbox();
    accept(inbox, "d1", relevant("acme/web#1"));
    expect(inbox.claim(10, { ...free, prKeys: new Set(["acme/web#1"]) })).toEqual([]);
  });

  it("caps claims per installation", () => {
    const { inbox } = openInbox();
    for (let i = 0; i < 5; i++) accept(inbox, `d${i}`, relevant(`acme/web#${i}`, 7));
    accept(inbox, "other", relevant("beta/x#1", 8));
    const claimed = inbox.claim(10, { prKeys: new Set(), perInstallation: new Map([[7, 1]]), installationLimit: 3 });
    expect(claimed.map((d) => d.id)).toEqual(["d0", "d1", "other"]);
  });

  it("puts deliveries that were being processed back in the queue after a crash", () => {
    const { inbox, db, path } = openInbox();
    accept(inbox, "d1", relevant("acme/web#1"));
    inbox.claim(1, free);
    db.close();
    const reopened = openInbox(path).inbox;
    expect(reopened.recover()).toBe(1);
    expect(reopened.claim(1, free).map((d) => [d.id, d.attempts])).toEqual([["d1", 2]]);
  });

  it("counts deliveries by status", () => {
    const { inbox } = openInbox();
    accept(inbox, "d1", relevant("a#1"));
    accept(inbox, "d2", relevant("a#1"));
    const [d] = inbox.claim(1, free);
    inbox.finish(d!.id, "done");
    expect(inbox.counts()).toMatchObject({ done: 1, superseded: 1, queued: 0 });
  });

  it("drops finished deliveries past their retention and keeps queued and recent ones", () => {
    const { inbox, db } = openInbox();
    accept(inbox, "old-done", relevant("acme/web#1"));
    accept(inbox, "old-queued", relevant("acme/web#2"));
    accept(inbox, "recent-done", relevant("acme/web#3"));
    inbox.finish("old-done", "done");
    inbox.finish("recent-done", "done");
    db.prepare("UPDATE inbox SET finished_at = '2026-01-01T00:00:00.000Z', received_at = '2026-01-01T00:00:00.000Z' WHERE delivery_id LIKE 'old-%'").run();
    expect(inbox.prune(new Date("2026-06-01T00:00:00Z"))).toBe(1);
    const left = (db.prepare("SELECT delivery_id FROM inbox ORDER BY seq").all() as Array<{ delivery_id: string }>).map((r) => r.delivery_id);
    expect(left).toEqual(["old-queued", "recent-done"]);
  });
});
