// Domain metrics of the WebhookService process: Prometheus counters, and the
// same outcomes as records for MetricsService's rollups.
import { Counter, Histogram, type Registry } from "prom-client";
import type { UsagePublishers } from "../shared/usageStream.js";
import type { SettledAttempt } from "./attemptStore.js";

export class WebhookApiMetrics {
  readonly deliveryOutcomes: Counter<"outcome">;
  readonly endpointsDisabled: Counter;
  private readonly replayRejected: Counter;
  private readonly eventsPublished: Counter;
  private readonly deliveryLatency: Histogram;

  constructor(
    registry: Registry,
    private readonly records: UsagePublishers["webhooks"],
  ) {
    const registers = [registry];
    this.replayRejected = new Counter({ name: "onering_webhook_replay_rejected_total", help: "Publishes turned away because their idempotency key was used within the replay window.", registers });
    this.eventsPublished = new Counter({ name: "onering_webhook_events_published_total", help: "Events accepted.", registers });
    this.deliveryOutcomes = new Counter({ name: "onering_webhook_delivery_outcomes_total", help: "Recorded attempts by what followed: delivered, retried or dead_letter.", labelNames: ["outcome"], registers });
    this.endpointsDisabled = new Counter({ name: "onering_webhook_endpoints_disabled_total", help: "Subscriptions the platform disabled (410 Gone, failing too long).", registers });
    this.deliveryLatency = new Histogram({
      name: "onering_webhook_delivery_latency_seconds",
      help: "From an event's acceptance to its delivery's success.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
  }

  /** One publish call: a new event, or a replay of an idempotency key. */
  published(replayed: boolean): void {
    (replayed ? this.replayRejected : this.eventsPublished).inc();
    this.records.record({ outcome: replayed ? "replay_rejected" : "published", timeMs: BigInt(Date.now()) });
  }

  /** What a batch of recorded attempts did. */
  settled(attempts: SettledAttempt[]): void {
    for (const a of attempts) {
      if (a.outcome === "delivered") this.deliveryLatency.observe(a.latencyMs / 1000);
      this.records.record({ outcome: a.outcome, deliveryId: a.deliveryId, attempts: a.attempts, latencyMs: BigInt(a.latencyMs), timeMs: BigInt(Date.now()) });
    }
  }
}
