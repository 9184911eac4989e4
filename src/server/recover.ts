// Missed webhooks: GitHub does not redeliver by itself. Governor reads the app's recent deliveries and asks for those
// that failed (Governor was down, or unreachable) and that its inbox never got.

/** GitHub keeps the app's deliveries for three days; older ones cannot be redelivered. */
export const RECOVER_WINDOW_MS = 3 * 86_400_000;
/** A bound on one pass: pages of 100 deliveries read. */
const MAX_PAGES = 50;

export interface HookDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status_code: number;
  event: string;
}

/** The calls recovery makes, with the app's JWT (not an installation token). */
export interface AppClient {
  request(route: "GET /app/hook/deliveries", params: { per_page: number; cursor?: string }): Promise<{ data: unknown; headers: { link?: string } }>;
  request(route: "POST /app/hook/deliveries/{delivery_id}/attempts", params: { delivery_id: number }): Promise<unknown>;
}

export interface RecoveryResult {
  listed: number;
  failed: number;
  redelivered: number;
}

const ok = (code: number) => code >= 200 && code < 300;

/**
 * One pass: every guid of the last three days none of whose attempts succeeded, that the inbox does not have, and for
 * which no redelivery was asked yet (GitHub's log shows a `redelivery` attempt: at most once each, across restarts).
 */
export async function recoverMissedDeliveries(o: {
  app: AppClient;
  known: (guid: string) => Promise<boolean>;
  now: Date;
  log: (level: "info" | "warn", msg: string, extra?: Record<string, unknown>) => void;
}): Promise<RecoveryResult> {
  const since = o.now.getTime() - RECOVER_WINDOW_MS;
  const byGuid = new Map<string, HookDelivery[]>();
  let cursor: string | undefined;
  let listed = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await o.app.request("GET /app/hook/deliveries", { per_page: 100, ...(cursor ? { cursor } : {}) });
    const rows = (Array.isArray(res.data) ? res.data : []) as HookDelivery[];
    let old = false;
    for (const d of rows) {
      if (Date.parse(d.delivered_at) < since) {
        old = true;
        continue;
      }
      listed++;
      byGuid.set(d.guid, [...(byGuid.get(d.guid) ?? []), d]);
    }
    cursor = /[?&]cursor=([^&>]+)[^>]*>;\s*rel="next"/.exec(res.headers.link ?? "")?.[1];
    if (old || !cursor) break;
  }
  let failed = 0;
  let redelivered = 0;
  for (const [guid, attempts] of byGuid) {
    if (attempts.some((a) => ok(a.status_code))) continue;
    failed++;
    if (attempts.some((a) => a.redelivery) || (await o.known(guid))) continue;
    const latest = attempts.reduce((a, b) => (b.id > a.id ? b : a));
    try {
      await o.app.request("POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: latest.id });
      redelivered++;
    } catch (error) {
      o.log("warn", "GitHub refused to redeliver a missed delivery", { guid, event: latest.event, error: String(error) });
    }
  }
  if (redelivered > 0) o.log("info", "asked GitHub to redeliver missed webhooks", { redelivered, failed, listed });
  return { listed, failed, redelivered };
}
