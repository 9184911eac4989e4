// How one replica sees a commit's open check runs: which it may close (its own, or any whose lease expired) and which
// another live replica holds. The same rule for every store.
import type { OpenCheckRuns } from "./ports.js";

export interface OpenStart {
  checkRunId: number | null;
  owner: string;
  leaseExpiresAt: number;
}

export function viewOpenRuns(starts: readonly OpenStart[], owner: string, now: number): OpenCheckRuns {
  const view: OpenCheckRuns = { ids: [], unknown: false, heldElsewhere: [], pendingElsewhere: false };
  for (const s of starts) {
    const mine = s.owner === owner || s.leaseExpiresAt <= now;
    if (s.checkRunId === null) {
      if (mine) view.unknown = true;
      else view.pendingElsewhere = true;
    } else (mine ? view.ids : view.heldElsewhere).push(s.checkRunId);
  }
  return view;
}

/** Closed entries older than this are dropped; open ones are kept until closed. */
export const KEEP_CLOSED_MS = 30 * 86_400_000;
