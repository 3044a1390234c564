// Domain metrics of the WebhookService process: Prometheus counters, and the
// same outcomes as records for MetricsService's rollups. What deliveries did
// is the worker's to count (worker/workerMetrics.ts).
import { Counter, type Registry } from "prom-client";
import type { UsagePublishers } from "../shared/usageStream.js";

export class WebhookApiMetrics {
  private readonly replayRejected: Counter;
  private readonly eventsPublished: Counter;

  constructor(
    registry: Registry,
    private readonly records: UsagePublishers["webhooks"],
  ) {
    const registers = [registry];
    this.replayRejected = new Counter({ name: "onering_webhook_replay_rejected_total", help: "Publishes turned away because their idempotency key was used within the replay window.", registers });
    this.eventsPublished = new Counter({ name: "onering_webhook_events_published_total", help: "Events accepted.", registers });
  }

  /** One publish call: a new event, or a replay of an idempotency key. */
  published(replayed: boolean): void {
    (replayed ? this.replayRejected : this.eventsPublished).inc();
    this.records.record({ outcome: replayed ? "replay_rejected" : "published", timeMs: BigInt(Date.now()) });
  }
}
