// The five alerts of the contract, each the observed 24 h figure against its
// ONERING_ALERT_* threshold; firing when the figure exceeds the threshold.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AlertSchema } from "../../gen/onering/v1/metrics_pb.js";
import type { MeshConfig } from "../shared/config.js";

export interface AlertInputs {
  deadLetter: number;
  authFailures: number;
  rateLimitHits: number;
  replayRejected: number;
  latencyP90Seconds: number;
}

export function computeAlerts(thresholds: MeshConfig["alerts"], observed: AlertInputs): Record<string, MessageInitShape<typeof AlertSchema>> {
  const alert = (threshold: number, value: number) => ({ threshold, observed: value, firing: value > threshold });
  return {
    dead_letter: alert(thresholds.deadLetter24h, observed.deadLetter),
    auth_failures: alert(thresholds.authFailures24h, observed.authFailures),
    rate_limits: alert(thresholds.rateLimitHits24h, observed.rateLimitHits),
    replay_rejected: alert(thresholds.replayRejected24h, observed.replayRejected),
    latency_p90: alert(thresholds.latencyP90Seconds, observed.latencyP90Seconds),
  };
}
