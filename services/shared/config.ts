// One loader for every environment variable of the contract (DESIGN.md,
// "Configuration"). A bad value stops start-up with a message naming it.

export type ServiceName = "gateway" | "key" | "webhook" | "metrics";

export interface MeshConfig {
  service: ServiceName;
  host: string;
  port: number;
  logLevel: string;
  /** DATABASE_URL or <SERVICE>_DATABASE_URL; the storage services take it through requireDatabaseUrl. */
  databaseUrl: string | undefined;
  /** One server, or a comma-separated list of a cluster's servers (connectNats tries each in turn). */
  natsUrl: string;
  /** Replicas of every stream and KV bucket: 1 on a single server, 3 on a three-node cluster. */
  natsReplicas: number;
  /** Prefix of every NATS stream, subject, consumer and bucket, so meshes can share a server. */
  natsPrefix: string;
  adminKey: string;
  internalToken: string;
  maxBodyBytes: number;
  /** Slow-client bounds, connection cap, drain time and metrics port of serve(). */
  server: ServerSettings;
  /** Whether the gateway publishes one usage record per external request (off only to measure their cost). */
  usageRecordsEnabled: boolean;
  /** Start-up defaults of the four runtime flags. */
  flags: {
    external_api_enabled: boolean;
    external_api_canary_only: boolean;
    webhooks_enabled: boolean;
    webhooks_delivery_enabled: boolean;
  };
  rateLimits: { free: number; pro: number; enterprise: number; canary: number };
  webhooks: {
    maxAttempts: number;
    backoffSeconds: number[];
    replayWindowSeconds: number;
    deliveryLoopSeconds: number;
    attemptTimeoutSeconds: number;
    allowPrivateUrls: boolean;
    /** A webhook failing with no success for this long is disabled. */
    autoDisableSeconds: number;
    /** Attempts in flight at once per webhook, per worker. */
    endpointConcurrency: number;
    /** Due deliveries unfinished for this long are enqueued again (lost-stream recovery). */
    reconcileAfterSeconds: number;
    /** Failed attempts in a row that open an endpoint's circuit breaker. */
    circuitFailures: number;
    /** How long an open circuit waits before its probe attempt. */
    circuitCooldownSeconds: number;
    /** Jobs the workers together hold unacknowledged at once (the consumer's max_ack_pending). */
    workerMaxInFlight: number;
  };
  alerts: {
    deadLetter24h: number;
    authFailures24h: number;
    rateLimitHits24h: number;
    replayRejected24h: number;
    latencyP90Seconds: number;
  };
  serviceUrls: { key: string; webhook: string; metrics: string };
}

export interface ServerSettings {
  /** A connection that has not sent a complete request head (or HTTP/2 preface) by then is closed; at most Node's 300 s request timeout. */
  headersTimeoutMs: number;
  /** Connections open at once per process; more are refused when accepted. */
  maxConnections: number;
  /** How long SIGTERM waits for in-flight work before closing what is left. */
  shutdownGraceSeconds: number;
  /** A second port that serves only /metrics (inside the cluster); none when undefined. */
  metricsPort: number | undefined;
}

/** The contract's defaults, also what serve() uses for a setting it is not given. */
export const defaultServerSettings: ServerSettings = {
  headersTimeoutMs: 10_000,
  // Generous: a gateway behind a proxy sees few connections; this stops a flood of them exhausting file descriptors.
  maxConnections: 10_000,
  // Below Kubernetes' default 30 s terminationGracePeriodSeconds, so the drain ends before SIGKILL.
  shutdownGraceSeconds: 20,
  metricsPort: undefined,
};

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`invalid configuration: ${variable} ${reason}`);
  }
}

export const defaultPorts: Record<ServiceName | "worker", number> = {
  gateway: 8080,
  key: 8081,
  webhook: 8082,
  metrics: 8083,
  worker: 8084,
};

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = read(env, name);
  if (value === undefined) return fallback;
  const v = value.toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new ConfigError(name, `must be 1/0 or true/false, got "${value}"`);
}

function int(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = read(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function decimal(env: Env, name: string, fallback: number, min: number): number {
  const value = read(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n) || n < min) {
    throw new ConfigError(name, `must be a number of at least ${min}, got "${value}"`);
  }
  return n;
}

function durations(env: Env, name: string, fallback: number[]): number[] {
  const value = read(env, name);
  if (value === undefined) return fallback;
  const parts = value.split(",").map((p) => p.trim());
  if (parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) {
    throw new ConfigError(name, `must be a comma-separated list of seconds, got "${value}"`);
  }
  return parts.map(Number);
}

function url(env: Env, name: string, fallback: string, schemes: string[]): string {
  return checkedUrl(name, read(env, name) ?? fallback, schemes);
}

/** A comma-separated list of URLs, each checked; kept as one string. */
function urls(env: Env, name: string, fallback: string, schemes: string[]): string {
  return (read(env, name) ?? fallback)
    .split(",")
    .map((part) => checkedUrl(name, part.trim(), schemes))
    .join(",");
}

function checkedUrl(name: string, value: string, schemes: string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `must be a URL, got "${value}"`);
  }
  if (!schemes.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${schemes.join(" or ")}, got "${parsed.protocol}"`);
  }
  return value.replace(/\/+$/, "");
}

function name(env: Env, variable: string, fallback: string): string {
  const value = read(env, variable) ?? fallback;
  if (!/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(value)) throw new ConfigError(variable, `must be letters, digits and _ (at most 32), got "${value}"`);
  return value;
}

function secret(env: Env, name: string): string {
  const value = read(env, name);
  if (value === undefined) throw new ConfigError(name, "is required (npm start generates one for local use)");
  if (value.length < 16) throw new ConfigError(name, "must be at least 16 characters");
  return value;
}

function serverSettings(env: Env, port: number): ServerSettings {
  const metricsPort = read(env, "ONERING_METRICS_PORT") === undefined ? undefined : int(env, "ONERING_METRICS_PORT", 0, 1, 65535);
  if (metricsPort === port) throw new ConfigError("ONERING_METRICS_PORT", `must differ from PORT (${port})`);
  const d = defaultServerSettings;
  return {
    headersTimeoutMs: int(env, "ONERING_HEADERS_TIMEOUT_MS", d.headersTimeoutMs, 100, 300_000),
    maxConnections: int(env, "ONERING_MAX_CONNECTIONS", d.maxConnections, 1, 1_000_000),
    shutdownGraceSeconds: decimal(env, "ONERING_SHUTDOWN_GRACE_SECONDS", d.shutdownGraceSeconds, 0),
    metricsPort,
  };
}

/**
 * Ports of `npm start`: the defaults, or ONERING_PORT_BASE and the four after it
 * (gateway, key, webhook, metrics, worker), so a second mesh fits on one machine.
 */
export function launcherPorts(env: Env = process.env): Record<ServiceName | "worker", number> {
  const base = int(env, "ONERING_PORT_BASE", defaultPorts.gateway, 1, 65531);
  const offset = base - defaultPorts.gateway;
  return {
    gateway: defaultPorts.gateway + offset,
    key: defaultPorts.key + offset,
    webhook: defaultPorts.webhook + offset,
    metrics: defaultPorts.metrics + offset,
    worker: defaultPorts.worker + offset,
  };
}

/** Reads and validates the environment for one service process. */
export function loadConfig(service: ServiceName, env: Env = process.env, role?: "worker"): MeshConfig {
  const dbVariable = read(env, `${service.toUpperCase()}_DATABASE_URL`) ? `${service.toUpperCase()}_DATABASE_URL` : "DATABASE_URL";
  const databaseUrl = read(env, dbVariable) && url(env, dbVariable, "", ["postgres:", "postgresql:"]);
  const port = int(env, "PORT", defaultPorts[role ?? service], 0, 65535);
  return {
    service,
    host: read(env, "HOST") ?? "0.0.0.0",
    port,
    logLevel: read(env, "LOG_LEVEL") ?? "info",
    databaseUrl,
    natsUrl: urls(env, "NATS_URL", "nats://127.0.0.1:4222", ["nats:", "tls:"]),
    // A stream cannot have more replicas than the cluster has servers, and JetStream allows at most 5.
    natsReplicas: int(env, "ONERING_NATS_REPLICAS", 1, 1, 5),
    natsPrefix: name(env, "ONERING_NATS_PREFIX", "onering"),
    adminKey: secret(env, "ONERING_ADMIN_KEY"),
    internalToken: secret(env, "ONERING_INTERNAL_TOKEN"),
    maxBodyBytes: int(env, "ONERING_MAX_BODY_BYTES", 1_048_576, 1024),
    server: serverSettings(env, port),
    usageRecordsEnabled: bool(env, "ONERING_USAGE_RECORDS_ENABLED", true),
    flags: {
      external_api_enabled: bool(env, "ONERING_EXTERNAL_API_ENABLED", true),
      external_api_canary_only: bool(env, "ONERING_EXTERNAL_API_CANARY_ONLY", false),
      webhooks_enabled: bool(env, "ONERING_WEBHOOKS_ENABLED", true),
      webhooks_delivery_enabled: bool(env, "ONERING_WEBHOOKS_DELIVERY_ENABLED", true),
    },
    rateLimits: {
      free: int(env, "ONERING_RATE_LIMIT_FREE", 100, 0),
      pro: int(env, "ONERING_RATE_LIMIT_PRO", 1000, 0),
      enterprise: int(env, "ONERING_RATE_LIMIT_ENTERPRISE", 10000, 0),
      canary: int(env, "ONERING_RATE_LIMIT_CANARY", 10, 0),
    },
    webhooks: {
      maxAttempts: int(env, "ONERING_WEBHOOKS_MAX_ATTEMPTS", 3, 1, 100),
      backoffSeconds: durations(env, "ONERING_WEBHOOKS_BACKOFF_SECONDS", [60, 300, 900]),
      replayWindowSeconds: int(env, "ONERING_WEBHOOKS_REPLAY_WINDOW_SECONDS", 300, 1),
      deliveryLoopSeconds: decimal(env, "ONERING_WEBHOOKS_DELIVERY_LOOP_SECONDS", 5, 0.05),
      attemptTimeoutSeconds: decimal(env, "ONERING_WEBHOOKS_ATTEMPT_TIMEOUT_SECONDS", 10, 0.1),
      allowPrivateUrls: bool(env, "ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS", false),
      autoDisableSeconds: decimal(env, "ONERING_WEBHOOKS_AUTO_DISABLE_SECONDS", 5 * 24 * 3600, 1),
      endpointConcurrency: int(env, "ONERING_WEBHOOKS_ENDPOINT_CONCURRENCY", 10, 1, 1000),
      reconcileAfterSeconds: decimal(env, "ONERING_WEBHOOKS_RECONCILE_AFTER_SECONDS", 300, 1),
      circuitFailures: int(env, "ONERING_WEBHOOKS_CIRCUIT_FAILURES", 5, 1, 1000),
      circuitCooldownSeconds: decimal(env, "ONERING_WEBHOOKS_CIRCUIT_COOLDOWN_SECONDS", 30, 0.1),
      workerMaxInFlight: int(env, "ONERING_WEBHOOKS_WORKER_MAX_IN_FLIGHT", 2000, 1, 1_000_000),
    },
    alerts: {
      deadLetter24h: decimal(env, "ONERING_ALERT_DEAD_LETTER_24H", 10, 0),
      authFailures24h: decimal(env, "ONERING_ALERT_AUTH_FAILURES_24H", 50, 0),
      rateLimitHits24h: decimal(env, "ONERING_ALERT_RATE_LIMIT_HITS_24H", 100, 0),
      replayRejected24h: decimal(env, "ONERING_ALERT_REPLAY_REJECTED_24H", 20, 0),
      latencyP90Seconds: decimal(env, "ONERING_ALERT_LATENCY_P90_SECONDS", 5.0, 0),
    },
    serviceUrls: {
      key: url(env, "ONERING_KEY_SERVICE_URL", `http://127.0.0.1:${defaultPorts.key}`, ["http:", "https:"]),
      webhook: url(env, "ONERING_WEBHOOK_SERVICE_URL", `http://127.0.0.1:${defaultPorts.webhook}`, ["http:", "https:"]),
      metrics: url(env, "ONERING_METRICS_SERVICE_URL", `http://127.0.0.1:${defaultPorts.metrics}`, ["http:", "https:"]),
    },
  };
}

/** The storage services' database; none is a start-up error (npm start runs an embedded PostgreSQL and sets it). */
export function requireDatabaseUrl(config: MeshConfig): string {
  if (config.databaseUrl) return config.databaseUrl;
  throw new ConfigError("DATABASE_URL", "is required: a postgres:// URL (npm start runs an embedded PostgreSQL and sets it)");
}

/**
 * Whether OpenTelemetry tracing is on: OTEL_EXPORTER_OTLP_ENDPOINT names an
 * OTLP/HTTP collector. The SDK reads it and the other OTEL_* variables itself.
 */
export function tracingEnabledIn(env: Env = process.env): boolean {
  if (read(env, "OTEL_EXPORTER_OTLP_ENDPOINT") === undefined) return false;
  url(env, "OTEL_EXPORTER_OTLP_ENDPOINT", "", ["http:", "https:"]);
  return true;
}
