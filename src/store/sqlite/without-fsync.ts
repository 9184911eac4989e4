// Bookkeeping whose loss on a power cut is harmless (it is redone, never skipped) commits without an fsync of its own:
// synchronous=NORMAL in WAL mode, which a killed process loses nothing of; the next FULL commit on the file (a
// delivery accepted, an audit row, a budget place) makes it durable too. Every store connection is FULL otherwise.
import { open } from "node:fs/promises";
import type Database from "better-sqlite3";

export function withoutFsync<T>(db: Database.Database, fn: () => T): T {
  db.pragma("synchronous = NORMAL");
  try {
    return fn();
  } finally {
    db.pragma("synchronous = FULL");
  }
}

/**
 * Whether commits on this connection can be made durable by `syncWal`: a file in WAL mode. Then a commit may be
 * relaxed (NORMAL) and its fsync run off the event loop; otherwise (in memory, another journal) it stays FULL.
 */
export function canSyncWal(db: Database.Database): boolean {
  return !db.memory && String(db.pragma("journal_mode", { simple: true })).toLowerCase() === "wal";
}

/**
 * Makes every commit so far on the file durable, as synchronous=FULL would have at each commit: an fdatasync of its WAL
 * (where a commit in WAL mode is written; fsync is of the file, whichever descriptor asks) on libuv's thread pool, so
 * the event loop goes on meanwhile. Opened for each call, so it is always the WAL file SQLite is writing now. A
 * checkpoint that moved frames into the database file synced them there first (SQLite does, at NORMAL too).
 */
export async function syncWal(db: Database.Database): Promise<void> {
  const wal = await open(`${db.name}-wal`, "r");
  try {
    await wal.datasync();
  } finally {
    await wal.close();
  }
}
