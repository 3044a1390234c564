// Domain metrics of the delivery worker: Prometheus counters of attempts and
// what followed them, and settled deliveries as records for MetricsService.
import { Counter, Histogram, type Registry } from "prom-client";
import type { UsagePublishers } from "../../shared/usageStream.js";
import type { RecordOutcome } from "./attemptStore.js";

export class WorkerMetrics {
  private readonly attempts: Counter<"result">;
  private readonly duration: Histogram<"result">;
  private readonly deliveryOutcomes: Counter<"outcome">;
  private readonly webhooksDisabled: Counter;
  private readonly circuitsOpened: Counter;
  private readonly parked: Counter;
  private readonly deliveryLatency: Histogram;

  constructor(
    registry: Registry,
    private readonly records: UsagePublishers["webhooks"],
  ) {
    const registers = [registry];
    this.attempts = new Counter({ name: "onering_webhook_attempts_total", help: "Delivery attempts by result: 2xx, 3xx, 4xx, 5xx or error.", labelNames: ["result"], registers });
    this.duration = new Histogram({
      name: "onering_webhook_attempt_duration_seconds",
      help: "Time from request start to the receiver's answer (or failure).",
      labelNames: ["result"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.deliveryOutcomes = new Counter({ name: "onering_webhook_delivery_outcomes_total", help: "Recorded attempts by what followed: delivered, retried or dead_letter.", labelNames: ["outcome"], registers });
    this.webhooksDisabled = new Counter({ name: "onering_webhook_endpoints_disabled_total", help: "Webhooks the platform disabled (410 Gone, failing too long).", registers });
    this.circuitsOpened = new Counter({ name: "onering_webhook_circuit_opened_total", help: "Times a webhook's circuit breaker opened from closed (a failed probe keeps it open without counting again).", registers });
    this.parked = new Counter({
      name: "onering_webhook_jobs_parked_total",
      help: "Jobs of a webhook at its concurrency cap handed back to Postgres for a moment instead of waiting in JetStream.",
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: "onering_webhook_delivery_latency_seconds",
      help: "From an event's acceptance to its delivery's success.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
  }

  observe(statusCode: number, error: string, seconds: number): void {
    const result = error || statusCode === 0 ? "error" : `${Math.floor(statusCode / 100)}xx`;
    this.attempts.inc({ result });
    this.duration.observe({ result }, seconds);
  }

  parkedJobs(count: number): void {
    this.parked.inc(count);
  }

  /** What a recorded batch of attempts did. */
  recorded(outcome: RecordOutcome): void {
    this.deliveryOutcomes.inc({ outcome: "delivered" }, outcome.outcomes.delivered);
    this.deliveryOutcomes.inc({ outcome: "retried" }, outcome.outcomes.retried);
    this.deliveryOutcomes.inc({ outcome: "dead_letter" }, outcome.outcomes.deadLettered);
    this.webhooksDisabled.inc(outcome.disabled.length);
    this.circuitsOpened.inc(outcome.circuitsOpened.length);
    for (const a of outcome.settled) {
      if (a.outcome === "delivered") this.deliveryLatency.observe(a.latencyMs / 1000);
      this.records.record({ outcome: a.outcome, deliveryId: a.deliveryId, attempts: a.attempts, latencyMs: BigInt(a.latencyMs), timeMs: BigInt(Date.now()) });
    }
  }
}
