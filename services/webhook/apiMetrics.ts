// Domain metrics of the WebhookService process.
import { Counter, type Registry } from "prom-client";

export class WebhookApiMetrics {
  readonly replayRejected: Counter;
  readonly eventsPublished: Counter;
  readonly deliveryOutcomes: Counter<"outcome">;
  readonly endpointsDisabled: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.replayRejected = new Counter({ name: "onering_webhook_replay_rejected_total", help: "Publishes turned away because their idempotency key was used within the replay window.", registers });
    this.eventsPublished = new Counter({ name: "onering_webhook_events_published_total", help: "Events accepted.", registers });
    this.deliveryOutcomes = new Counter({ name: "onering_webhook_delivery_outcomes_total", help: "Recorded attempts by what followed: delivered, retried or dead_letter.", labelNames: ["outcome"], registers });
    this.endpointsDisabled = new Counter({ name: "onering_webhook_endpoints_disabled_total", help: "Subscriptions the platform disabled (410 Gone, failing too long).", registers });
  }
}
