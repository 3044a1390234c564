import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../services/shared/config.js";

const base = { ONERING_ADMIN_KEY: "a".repeat(20), ONERING_INTERNAL_TOKEN: "b".repeat(20) };

describe("loadConfig", () => {
  it("applies the contract's defaults", () => {
    const config = loadConfig("webhook", base);
    expect(config.port).toBe(8082);
    expect(config.flags).toEqual({
      external_api_enabled: true,
      external_api_canary_only: false,
      webhooks_enabled: true,
      webhooks_delivery_enabled: true,
    });
    expect(config.rateLimits).toEqual({ free: 100, pro: 1000, enterprise: 10000, canary: 10 });
    expect(config.webhooks.maxAttempts).toBe(3);
    expect(config.webhooks.backoffSeconds).toEqual([60, 300, 900]);
    expect(config.webhooks.replayWindowSeconds).toBe(300);
    expect(config.alerts).toEqual({ deadLetter24h: 10, authFailures24h: 50, rateLimitHits24h: 100, replayRejected24h: 20, latencyP90Seconds: 5 });
    expect(config.maxBodyBytes).toBe(1_048_576);
    expect(config.usageRecordsEnabled).toBe(true);
    expect(config.natsUrl).toBe("nats://127.0.0.1:4222");
    expect(config.natsReplicas).toBe(1);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.server).toEqual({ headersTimeoutMs: 10_000, maxConnections: 10_000, shutdownGraceSeconds: 20, metricsPort: undefined });
  });

  it("gives the worker its own port", () => {
    expect(loadConfig("webhook", base, "worker").port).toBe(8084);
  });

  it.each([
    ["ONERING_WEBHOOKS_MAX_ATTEMPTS", "abc"],
    ["ONERING_WEBHOOKS_MAX_ATTEMPTS", "0"],
    ["ONERING_EXTERNAL_API_ENABLED", "maybe"],
    ["ONERING_USAGE_RECORDS_ENABLED", "sometimes"],
    ["ONERING_WEBHOOKS_BACKOFF_SECONDS", "1,x,3"],
    ["ONERING_RATE_LIMIT_FREE", "-1"],
    ["ONERING_ALERT_LATENCY_P90_SECONDS", "fast"],
    ["NATS_URL", "http://localhost"],
    ["NATS_URL", "nats://a:4222,,nats://b:4222"],
    ["NATS_URL", "nats://a:4222,http://b"],
    ["ONERING_NATS_REPLICAS", "0"],
    ["ONERING_NATS_REPLICAS", "6"],
    ["ONERING_NATS_REPLICAS", "three"],
    ["DATABASE_URL", "mysql://x"],
    ["PORT", "70000"],
    ["ONERING_ADMIN_KEY", "short"],
    ["ONERING_HEADERS_TIMEOUT_MS", "10s"],
    ["ONERING_HEADERS_TIMEOUT_MS", "50"],
    ["ONERING_MAX_CONNECTIONS", "0"],
    ["ONERING_SHUTDOWN_GRACE_SECONDS", "-1"],
    ["ONERING_METRICS_PORT", "70000"],
    // KeyService's own port.
    ["ONERING_METRICS_PORT", "8081"],
  ])("rejects %s=%s naming the variable", (variable, value) => {
    expect(() => loadConfig("key", { ...base, [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig("key", { ...base, [variable]: value })).toThrow(variable);
  });

  it("requires the admin key and internal token", () => {
    expect(() => loadConfig("key", { ONERING_INTERNAL_TOKEN: "b".repeat(20) })).toThrow("ONERING_ADMIN_KEY");
    expect(() => loadConfig("key", { ONERING_ADMIN_KEY: "a".repeat(20) })).toThrow("ONERING_INTERNAL_TOKEN");
  });

  it("takes a NATS cluster as a comma-separated list of servers, and its stream replicas", () => {
    const config = loadConfig("key", { ...base, NATS_URL: "nats://n0:4222, nats://n1:4222,nats://n2:4222", ONERING_NATS_REPLICAS: "3" });
    expect(config.natsUrl).toBe("nats://n0:4222,nats://n1:4222,nats://n2:4222");
    expect(config.natsReplicas).toBe(3);
  });

  it("reads the slow-client, connection, drain and metrics-port settings", () => {
    const config = loadConfig("gateway", {
      ...base,
      ONERING_HEADERS_TIMEOUT_MS: "500",
      ONERING_MAX_CONNECTIONS: "100",
      ONERING_SHUTDOWN_GRACE_SECONDS: "2.5",
      ONERING_METRICS_PORT: "9464",
    });
    expect(config.server).toEqual({ headersTimeoutMs: 500, maxConnections: 100, shutdownGraceSeconds: 2.5, metricsPort: 9464 });
  });

  it("prefers the per-service database URL", () => {
    const config = loadConfig("key", { ...base, DATABASE_URL: "postgres://a/x", KEY_DATABASE_URL: "postgres://b/y" });
    expect(config.databaseUrl).toBe("postgres://b/y");
  });
});
