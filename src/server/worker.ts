// Works off the inbox with bounded concurrency: never two evaluations of one PR at once, a cap per installation.
import type { Inbox, InboxDelivery } from "./inbox.js";
import type { Metrics } from "./metrics.js";

export interface WorkerOptions {
  inbox: Inbox;
  metrics: Metrics;
  /** Evaluates one delivery; a rejection marks it for retry (up to maxAttempts) and then as failed. */
  dispatch: (delivery: InboxDelivery) => Promise<void>;
  concurrency: number;
  perInstallation: number;
  maxAttempts: number;
  /** Wait before the first retry of a failed evaluation, doubled for each further one. Default 1 s. */
  retryDelayMs?: number;
  log: (level: "info" | "warn" | "error", msg: string, extra?: Record<string, unknown>) => void;
}

export class Worker {
  private readonly inFlight = new Map<string, InboxDelivery>();
  private readonly perInstallation = new Map<number, number>();
  private readonly idle: Array<() => void> = [];
  private stopped = false;
  private pumping = false;

  constructor(private readonly opts: WorkerOptions) {}

  /** Claims and starts as much work as the limits allow. Cheap to call often. */
  wake(): void {
    if (this.stopped || this.pumping) return;
    this.pumping = true;
    try {
      const free = this.opts.concurrency - this.inFlight.size;
      if (free <= 0) return;
      const claimed = this.opts.inbox.claim(free, {
        prKeys: new Set([...this.inFlight.values()].flatMap((d) => (d.prKey ? [d.prKey] : []))),
        perInstallation: this.perInstallation,
        installationLimit: this.opts.perInstallation,
      });
      for (const delivery of claimed) this.start(delivery);
    } finally {
      this.pumping = false;
    }
    if (this.inFlight.size === 0) this.resolveIdle();
  }

  private start(delivery: InboxDelivery): void {
    this.inFlight.set(delivery.id, delivery);
    const inst = delivery.installationId ?? -1;
    this.perInstallation.set(inst, (this.perInstallation.get(inst) ?? 0) + 1);
    void this.run(delivery).finally(() => {
      this.inFlight.delete(delivery.id);
      const n = (this.perInstallation.get(inst) ?? 1) - 1;
      if (n <= 0) this.perInstallation.delete(inst);
      else this.perInstallation.set(inst, n);
      this.safely("claim more work", () => this.wake());
    });
  }

  /** One delivery to its end. Never rejects: a database error here is logged, and the delivery stays recoverable. */
  private async run(delivery: InboxDelivery): Promise<void> {
    const timer = this.opts.metrics.evaluationSeconds.startTimer();
    try {
      await this.opts.dispatch(delivery);
      this.safely("mark a delivery done", () => this.opts.inbox.finish(delivery.id, "done"));
      this.opts.metrics.deliveries.inc({ result: "evaluated" });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Shutting down is not the delivery's fault: it goes back to the queue for the next process.
      const retry = this.stopped || delivery.attempts < this.opts.maxAttempts;
      this.opts.log(retry ? "warn" : "error", retry ? "evaluation failed; will retry" : "evaluation failed", { delivery: delivery.id, error: message });
      // Back off before the retry (the PR stays claimed meanwhile), so one short GitHub outage cannot use up every attempt.
      if (retry && !this.stopped) await new Promise((r) => setTimeout(r, (this.opts.retryDelayMs ?? 1000) * 2 ** Math.max(0, delivery.attempts - 1)));
      this.safely("record a failed evaluation", () => this.opts.inbox.finish(delivery.id, retry ? "queued" : "failed", message.slice(0, 2000)));
      if (!retry) this.opts.metrics.deliveries.inc({ result: "failed" });
    } finally {
      timer();
    }
  }

  /** Runs inbox bookkeeping that must not take the process down (a busy or full disk); the delivery is recovered on restart. */
  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.opts.log("error", `could not ${what}`, { error: String(error) });
    }
  }

  /** Resolves when nothing is queued or in flight (for tests, the demo and graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.inFlight.size === 0 && this.opts.inbox.depth() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private resolveIdle(): void {
    if (this.opts.inbox.depth() !== 0) return;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    while (this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 10));
  }
}
