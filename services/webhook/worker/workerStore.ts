// What the delivery worker reads and writes, straight on the webhooks schema:
// leases, attempt records and parked jobs, each a batched statement.
import type { MeshConfig } from "../../shared/config.js";
import { ackWaitMs } from "../deliveryJobs.js";
import type { WebhookDb } from "../webhookDb.js";
import { recordAttempts, type AttemptResult, type RecordOutcome } from "./attemptStore.js";
import { claimDeliveries, park, type Claim, type Parking } from "./claimStore.js";

export interface WorkerStore {
  claim(ids: string[]): Promise<Claim[]>;
  record(results: AttemptResult[]): Promise<RecordOutcome>;
  park(parkings: Parking[]): Promise<void>;
}

export function workerStore(db: WebhookDb, config: MeshConfig): WorkerStore {
  // The lease outlasts an attempt like the job's ack-wait, so no second worker sends it meanwhile.
  const leaseMs = ackWaitMs(config);
  return {
    claim: (ids) => claimDeliveries(db, ids, leaseMs),
    record: (results) => recordAttempts(db, results, config.webhooks),
    park: (parkings) => park(db, parkings),
  };
}
