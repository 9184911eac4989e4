// Works off the shared delivery queue with bounded concurrency. The queue's leases (src/store) hold across replicas:
// never two evaluations of one PR at once and a cap per installation, counted over every replica; a lease is kept
// alive by heartbeats while the evaluation runs, and one that lapses (a killed replica) is reclaimed by the others.
import type { ClaimedDelivery, DeliveryQueue } from "../store/ports.js";
import type { Metrics } from "./metrics.js";

export interface WorkerOptions {
  queue: DeliveryQueue;
  /** This replica's id: the owner of its leases. */
  owner: string;
  /** How long a claim lasts without a heartbeat; heartbeats go every third of it. */
  leaseMs: number;
  metrics: Metrics;
  /** Evaluates one delivery; a rejection marks it for retry (up to maxAttempts) and then as failed. */
  dispatch: (delivery: ClaimedDelivery) => Promise<void>;
  concurrency: number;
  perInstallation: number;
  maxAttempts: number;
  /** Wait before the first retry of a failed evaluation, doubled for each further one. Default 1 s. */
  retryDelayMs?: number;
  log: (level: "info" | "warn" | "error", msg: string, extra?: Record<string, unknown>) => void;
}

export class Worker {
  private readonly inFlight = new Map<string, ClaimedDelivery>();
  private readonly idle: Array<() => void> = [];
  private stopped = false;
  private pumping: Promise<void> | undefined;
  private again = false;
  private readonly beating: NodeJS.Timeout;

  constructor(private readonly opts: WorkerOptions) {
    this.beating = setInterval(() => void this.heartbeat(), Math.max(50, Math.floor(opts.leaseMs / 3)));
    this.beating.unref();
  }

  /** Claims and starts as much work as the limits allow. Cheap to call often; never rejects. */
  wake(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.pumping) {
      // A claim is under way: claim once more after it, so work queued meanwhile is not left waiting for the poll.
      this.again = true;
      return this.pumping;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.again) {
        this.again = false;
        void this.wake();
      }
    });
    return this.pumping;
  }

  /**
   * Slots that must be free before a busy worker claims again: a claim is a write transaction whatever it takes, so
   * under load the worker refills in batches (an eighth of its cap) instead of once per finished evaluation. A quiet
   * server (fewer in flight than seven eighths of the cap) claims on every wake, so each delivery starts at once.
   */
  private get refill(): number {
    return Math.max(1, Math.floor(this.opts.concurrency / 8));
  }

  private async pump(): Promise<void> {
    try {
      const free = this.opts.concurrency - this.inFlight.size;
      if (free >= this.refill) {
        const claimed = await this.opts.queue.claim({
          owner: this.opts.owner,
          max: free,
          leaseMs: this.opts.leaseMs,
          installationLimit: this.opts.perInstallation,
        });
        for (const delivery of claimed) this.start(delivery);
      }
    } catch (error) {
      // A busy or unreachable database: the poll tries again, and the work stays queued.
      this.opts.log("warn", "could not claim work from the queue; will try again", { error: String(error) });
    }
    if (this.inFlight.size === 0) await this.resolveIdle();
  }

  private start(delivery: ClaimedDelivery): void {
    this.inFlight.set(delivery.id, delivery);
    void this.run(delivery).finally(() => {
      this.inFlight.delete(delivery.id);
      void this.wake();
    });
  }

  /** Renews the leases of the deliveries in flight; a lease found lost is logged (its result will not be recorded). */
  private async heartbeat(): Promise<void> {
    const ids = [...this.inFlight.keys()];
    if (ids.length === 0) return;
    try {
      const held = new Set(await this.opts.queue.heartbeat(this.opts.owner, ids, this.opts.leaseMs));
      for (const id of ids)
        if (!held.has(id) && this.inFlight.has(id))
          this.opts.log("warn", "lost the lease on a delivery being evaluated; another replica may take it", { delivery: id });
    } catch (error) {
      this.opts.log("warn", "could not renew delivery leases; will try again", { error: String(error) });
    }
  }

  /** One delivery to its end. Never rejects: a database error here is logged, and the lease lapses to another replica. */
  private async run(delivery: ClaimedDelivery): Promise<void> {
    const timer = this.opts.metrics.evaluationSeconds.startTimer();
    try {
      await this.opts.dispatch(delivery);
      await this.finish(delivery, "done", "mark a delivery done");
      this.opts.metrics.deliveries.inc({ result: "evaluated" });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Shutting down is not the delivery's fault: it goes back to the queue for the next process.
      const retry = this.stopped || delivery.attempts < this.opts.maxAttempts;
      this.opts.log(retry ? "warn" : "error", retry ? "evaluation failed; will retry" : "evaluation failed", { delivery: delivery.id, error: message });
      // Back off before the retry (the PR stays leased meanwhile), so one short GitHub outage cannot use up every attempt.
      if (retry && !this.stopped) await new Promise((r) => setTimeout(r, (this.opts.retryDelayMs ?? 1000) * 2 ** Math.max(0, delivery.attempts - 1)));
      await this.finish(delivery, retry ? "queued" : "failed", "record a failed evaluation", message.slice(0, 2000));
      if (!retry) this.opts.metrics.deliveries.inc({ result: "failed" });
    } finally {
      timer();
    }
  }

  private async finish(delivery: ClaimedDelivery, status: "done" | "failed" | "queued", what: string, note?: string): Promise<void> {
    try {
      const mine = await this.opts.queue.finish(this.opts.owner, delivery.id, status, note);
      // Our lease lapsed and another replica took the delivery: it is theirs to record (it is evaluated again there).
      if (!mine) this.opts.log("warn", "a delivery's lease lapsed before its result was recorded; another replica has it", { delivery: delivery.id });
    } catch (error) {
      this.opts.log("error", `could not ${what}`, { error: String(error), delivery: delivery.id });
    }
  }

  /** Resolves when nothing is queued or in flight (for tests, the demo and graceful shutdown). */
  async whenIdle(): Promise<void> {
    if (this.inFlight.size === 0 && (await this.depthOrNull()) === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private async depthOrNull(): Promise<number | null> {
    try {
      return await this.opts.queue.depth();
    } catch {
      return null;
    }
  }

  private async resolveIdle(): Promise<void> {
    if (this.idle.length === 0 || (await this.depthOrNull()) !== 0 || this.inFlight.size !== 0) return;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Leases are renewed until the last evaluation in flight has ended.
    while (this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 10));
    clearInterval(this.beating);
    await this.pumping;
  }
}
