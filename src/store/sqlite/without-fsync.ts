// Bookkeeping whose loss on a power cut is harmless (it is redone, never skipped) commits without an fsync of its own:
// synchronous=NORMAL in WAL mode, which a killed process loses nothing of; the next FULL commit on the file (a
// delivery accepted, an audit row, a budget place) makes it durable too. Every store connection is FULL otherwise.
import type Database from "better-sqlite3";

export function withoutFsync<T>(db: Database.Database, fn: () => T): T {
  db.pragma("synchronous = NORMAL");
  try {
    return fn();
  } finally {
    db.pragma("synchronous = FULL");
  }
}
