// Bookkeeping whose loss on a power cut is harmless (it is redone, never skipped) commits without an fsync of its own:
// synchronous=NORMAL in WAL mode, which a killed process loses nothing of; the next FULL commit on the file (a
// delivery accepted, an audit row, a budget place) makes it durable too. Every store connection is FULL otherwise.
import { statSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
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

/** An open handle on each WAL file synced here, with the file it is (inode): reopened when the path names another. */
const wals = new Map<string, Promise<{ handle: FileHandle; ino: number }>>();

async function openWal(path: string): Promise<{ handle: FileHandle; ino: number }> {
  const handle = await open(path, "r");
  return { handle, ino: (await handle.stat()).ino };
}

/**
 * Makes every commit so far on the file durable, as synchronous=FULL would have at each commit: an fdatasync of its WAL
 * (where a commit in WAL mode is written; a sync is of the file, whichever descriptor asks) on libuv's thread pool, so
 * the event loop goes on meanwhile. The handle is kept open, and checked (a stat, from the cache of the kernel) to be
 * the file the path names now, so it is always the WAL SQLite is writing. A checkpoint that moved frames into the
 * database file synced them there first (SQLite does, at NORMAL too).
 */
export async function syncWal(db: Database.Database): Promise<void> {
  const path = `${db.name}-wal`;
  let ino: number;
  try {
    ino = statSync(path).ino;
  } catch (error) {
    await releaseWal(db);
    throw error;
  }
  let wal = wals.get(path);
  if (wal && (await wal.catch(() => undefined))?.ino !== ino) {
    await releaseWal(db);
    wal = undefined;
  }
  if (!wal) {
    wal = openWal(path);
    wals.set(path, wal);
    wal.catch(() => wals.get(path) === wal && wals.delete(path));
  }
  await (await wal).handle.datasync();
}

/** Closes the handle `syncWal` keeps on this file's WAL (when its stores close). */
export async function releaseWal(db: Database.Database): Promise<void> {
  const path = `${db.name}-wal`;
  const wal = wals.get(path);
  if (!wal) return;
  wals.delete(path);
  const opened = await wal.catch(() => undefined);
  await opened?.handle.close().catch(() => undefined);
}
