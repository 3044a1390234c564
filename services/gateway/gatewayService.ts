// Everything the gateway serves, as plain parts: the implementation and the
// edge that guards it. main.ts hands the implementation and the edge's
// interceptor to serve(); REST calls pass the same EdgeGate in restCalls.ts.
import type { Interceptor, ServiceImpl } from "@connectrpc/connect";
import type { Registry } from "prom-client";
import type { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import type { Logger } from "../shared/logger.js";
import type { RuntimeFlags } from "../shared/runtimeFlags.js";
import type { UsagePublishers } from "../shared/usageStream.js";
import { EdgeGate } from "./edgeGate.js";
import { edgeInterceptor } from "./edgeInterceptor.js";
import { createGatewayHandlers, type InternalClients } from "./gatewayHandlers.js";
import { KeyVerifier } from "./keyVerifier.js";
import { QuotaLeases } from "./quotaLeases.js";
import { UsageRecorder } from "./usageRecorder.js";
import { UsageTally } from "./usageTally.js";

export interface GatewayDeps {
  adminKey: string;
  flags: RuntimeFlags;
  clients: InternalClients;
  logger: Logger;
  registry: Registry;
  /** Where one record per external request goes (MetricsService); none when switched off. */
  usage: UsagePublishers["requests"] | undefined;
}

export interface Gateway {
  impl: ServiceImpl<typeof GatewayService>;
  /** The edge's decision, which REST calls pass directly (restCalls.ts). */
  gate: EdgeGate;
  /** The same edge for Connect, gRPC and gRPC-Web. */
  interceptors: Interceptor[];
  /** Drops what the gateway holds for a key that KeyService changed. */
  keyChanged(keyId: string): void;
  /** Hands leased rate-limit tokens back and usage records on. */
  close(): Promise<void>;
}

// Verified keys are trusted this long without a change notice, which bounds
// staleness should a notice be missed while NATS reconnects.
const verificationTtlMs = 30_000;
const maxCachedSecrets = 100_000;
// A new or quiet key leases this many ahead; a busy one about a second of its
// demand, so it leases about twice a second, not dozens of times (each lease is
// a KeyService transaction). The half-window rule in QuotaLeases keeps limits
// exact whatever the size.
const baseLease = 1000;
const leaseAheadMs = 1000;
const idleReleaseMs = 1000;
const exhaustedRecheckMs = 1000;

export function createGateway(deps: GatewayDeps): Gateway {
  const verifier = new KeyVerifier(deps.clients.key, { ttlMs: verificationTtlMs, maxEntries: maxCachedSecrets });
  const quotas = new QuotaLeases(deps.clients.key, { baseLease, leaseAheadMs, idleReleaseMs, exhaustedRecheckMs, logger: deps.logger });
  const records = deps.usage && new UsageRecorder(deps.usage);
  const gate = new EdgeGate({ adminKey: deps.adminKey, flags: deps.flags, verifier, quotas, usage: new UsageTally(), records, registry: deps.registry });
  const keyChanged = (keyId: string) => {
    verifier.forgetKey(keyId);
    quotas.keyChanged(keyId);
  };
  return {
    impl: createGatewayHandlers(deps.clients, deps.flags, keyChanged),
    gate,
    interceptors: [edgeInterceptor(gate)],
    keyChanged,
    close: async () => {
      records?.flush();
      await quotas.close();
    },
  };
}
