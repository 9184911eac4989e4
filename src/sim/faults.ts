// Fault injection per route: error statuses, latency, GitHub's rate-limit answers and dropped connections.

export interface Fault {
  /** HTTP method, or undefined for any. */
  method?: string;
  /** The OpenAPI path template, e.g. `/repos/{owner}/{repo}/pulls/{pull_number}/files`; `*` for every route. */
  route: string;
  kind: "status" | "latency" | "secondary" | "primary" | "drop";
  status?: number;
  latencyMs?: number;
  /** Seconds GitHub would ask to wait (retry-after, or until x-ratelimit-reset). */
  retryAfter?: number;
  /** How many requests it applies to; unlimited when absent. */
  times?: number;
}

export class Faults {
  private list: Array<Fault & { left: number }> = [];

  add(fault: Fault): void {
    this.list.push({ ...fault, left: fault.times ?? Infinity });
  }

  clear(): void {
    this.list = [];
  }

  /** The fault for this request, if any, counting it against its `times`. */
  take(method: string, route: string): Fault | undefined {
    const f = this.list.find((x) => x.left > 0 && (x.route === route || x.route === "*") && (x.method === undefined || x.method === method));
    if (!f) return undefined;
    f.left--;
    return f;
  }
}
