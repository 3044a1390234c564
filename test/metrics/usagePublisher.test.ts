// The usage-record publisher against real NATS: records are encoded one by one
// as they are recorded and framed into batches at flush time, so what reaches
// the stream must decode as the batch message MetricsService reads, every
// record once, in order, no batch over its size.
import { fromBinary } from "@bufbuild/protobuf";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RequestRecordBatchSchema, type RequestRecord } from "../../gen/onering/v1/usage_pb.js";
import { createLogger } from "../../services/shared/logger.js";
import { ProcessMetrics } from "../../services/shared/metrics.js";
import { connectNats, type NatsConnection } from "../../services/shared/nats.js";
import { ensureUsageStream, requestSubject, UsagePublishers } from "../../services/shared/usageStream.js";
import { deleteNatsNamespace, testNatsUrl } from "../harness/mesh.js";
import { eventually } from "../keys/gatewayClient.js";

const prefix = `t${randomBytes(5).toString("hex")}`;
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connectNats(testNatsUrl, "test", createLogger("test", "silent"));
  await ensureUsageStream(nc, prefix, 1);
});
afterAll(async () => {
  await nc?.close();
  await deleteNatsNamespace(testNatsUrl, prefix);
});

it("publishes every record once, in order, in batches of at most maxRecords that decode as RequestRecordBatch", async () => {
  const batches: RequestRecord[][] = [];
  const subscription = nc.subscribe(requestSubject(prefix), { callback: (_err, msg) => void batches.push(fromBinary(RequestRecordBatchSchema, msg.data).records) });
  // A long interval: only full batches and close() may send.
  const publishers = new UsagePublishers(nc, prefix, new ProcessMetrics("test").registry, createLogger("test", "silent"), { maxRecords: 10, flushIntervalMs: 60_000 });
  const sent = Array.from({ length: 23 }, (_, i) => ({ keyId: `key_${i}`, tier: "pro", route: "GetMe", outcome: "ok", status: 200, latencyUs: BigInt(i), timeMs: 1_700_000_000_000n + BigInt(i) }));
  for (const record of sent) publishers.requests.record(record);
  await publishers.close();

  expect(await eventually(async () => batches.flat().length >= sent.length, 10_000)).toBe(true);
  subscription.unsubscribe();
  expect(batches.every((batch) => batch.length > 0 && batch.length <= 10)).toBe(true);
  expect(batches.flat().map(({ keyId, tier, route, outcome, status, latencyUs, timeMs }) => ({ keyId, tier, route, outcome, status, latencyUs, timeMs }))).toEqual(sent);
});
