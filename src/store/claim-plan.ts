// Which queued deliveries one claim takes, given what is leased now: the same choice for every store (and the same as
// src/server/inbox.ts claim), made over leases held by every replica rather than one process's in-flight set.

export interface Candidate {
  seq: number;
  id: string;
  installationId: number | null;
  prKey: string | null;
}

export interface Leased {
  /** PR keys with a live lease, anywhere. */
  prKeys: ReadonlySet<string>;
  /** Live leases per installation (-1: none named), anywhere. */
  perInstallation: ReadonlyMap<number, number>;
}

export interface Pick<C extends Candidate> {
  pick: C;
  /** Queued deliveries of the same PR older than the pick: superseded by it. */
  supersedes: boolean;
}

/**
 * Oldest PR first; for each PR only its newest queued delivery (older ones are superseded); no PR already leased; no
 * installation past `limit`. `candidates` are queued deliveries in seq order.
 */
export function planClaim<C extends Candidate>(candidates: readonly C[], leased: Leased, max: number, limit: number): Array<Pick<C>> {
  const newestByPr = new Map<string, C>();
  for (const c of candidates) if (c.prKey) newestByPr.set(c.prKey, c);
  const installations = new Map(leased.perInstallation);
  const seen = new Set<string>();
  const picks: Array<Pick<C>> = [];
  for (const c of candidates) {
    if (picks.length >= max) break;
    const key = c.prKey;
    if (key) {
      if (seen.has(key) || leased.prKeys.has(key)) continue;
      seen.add(key);
    }
    const inst = c.installationId ?? -1;
    if ((installations.get(inst) ?? 0) >= limit) continue;
    const pick = key ? (newestByPr.get(key) ?? c) : c;
    installations.set(inst, (installations.get(inst) ?? 0) + 1);
    picks.push({ pick, supersedes: key !== null });
  }
  return picks;
}
