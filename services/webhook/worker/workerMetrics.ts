// Domain metrics of the delivery worker.
import { Counter, Histogram, type Registry } from "prom-client";

export class WorkerMetrics {
  private readonly attempts: Counter<"result">;
  private readonly duration: Histogram<"result">;

  constructor(registry: Registry) {
    this.attempts = new Counter({ name: "onering_webhook_attempts_total", help: "Delivery attempts by result: 2xx, 3xx, 4xx, 5xx or error.", labelNames: ["result"], registers: [registry] });
    this.duration = new Histogram({
      name: "onering_webhook_attempt_duration_seconds",
      help: "Time from request start to the receiver's answer (or failure).",
      labelNames: ["result"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  }

  observe(statusCode: number, error: string, seconds: number): void {
    const result = error || statusCode === 0 ? "error" : `${Math.floor(statusCode / 100)}xx`;
    this.attempts.inc({ result });
    this.duration.observe({ result }, seconds);
  }
}
