// Leasing against a fake KeyService that grants like the real SQL statement:
// several gateways racing over one window admit exactly the limit.
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { expect, it } from "vitest";
import { AcquireQuotaResponseSchema, ReleaseQuotaResponseSchema, type KeyService } from "../../gen/onering/v1/key_pb.js";
import { createLogger } from "../../services/shared/logger.js";
import { QuotaLeases } from "../../services/gateway/quotaLeases.js";

function fakeKeyService(limit: number) {
  let used = 0;
  let served = 0;
  const windowStart = Math.floor(Date.now() / 3_600_000) * 3600;
  const tick = () => new Promise((r) => setTimeout(r, Math.random() * 3));
  const client = {
    async acquireQuota({ tokens, served: reported }: { tokens: bigint; served: bigint }) {
      await tick();
      served += Number(reported);
      const granted = Math.min(Number(tokens), Math.max(limit - used, 0));
      used += granted;
      return create(AcquireQuotaResponseSchema, { granted: BigInt(granted), limit: BigInt(limit), remaining: BigInt(limit - used), windowStart: BigInt(windowStart), reset: BigInt(windowStart + 3600) });
    },
    async releaseQuota({ tokens, served: reported }: { tokens: bigint; served: bigint }) {
      await tick();
      served += Number(reported);
      used -= Number(tokens);
      return create(ReleaseQuotaResponseSchema, { remaining: BigInt(limit - used) });
    },
  };
  return { client: client as unknown as Client<typeof KeyService>, used: () => used, served: () => served };
}

it("admits exactly the limit across three gateways under concurrent demand, then hands leftovers back", async () => {
  const service = fakeKeyService(1000);
  const logger = createLogger("quota-test");
  const gateways = [0, 1, 2].map(() => new QuotaLeases(service.client, { baseLease: 100, leaseAheadMs: 1000, idleReleaseMs: 50, exhaustedRecheckMs: 0, logger }));
  const decisions = await Promise.all(Array.from({ length: 1500 }, (_, i) => gateways[i % 3]!.take("key_a", 1000)));
  expect(decisions.filter((d) => d.admitted)).toHaveLength(1000);
  expect(decisions.filter((d) => !d.admitted).every((d) => d.remaining === 0)).toBe(true);
  await Promise.all(gateways.map((g) => g.close()));
  expect(service.used()).toBe(1000);
  expect(service.served()).toBe(1000);
});

it("reports requests served, not tokens leased, and an idle key's last ones too", async () => {
  const service = fakeKeyService(1000);
  const leases = new QuotaLeases(service.client, { baseLease: 100, leaseAheadMs: 1000, idleReleaseMs: 50, exhaustedRecheckMs: 0, logger: createLogger("quota-test") });
  for (let i = 0; i < 3; i++) expect((await leases.take("key_s", 1000)).admitted).toBe(true);
  expect(service.used()).toBeGreaterThan(3);
  expect(service.served()).toBeLessThanOrEqual(3);
  for (let i = 0; i < 100 && service.served() < 3; i++) await new Promise((r) => setTimeout(r, 20));
  expect([service.served(), service.used()]).toEqual([3, 3]);
  await leases.close();
});

it("returns unused leases on close, so only admitted requests count", async () => {
  const service = fakeKeyService(100);
  const gateway = new QuotaLeases(service.client, { baseLease: 100, leaseAheadMs: 1000, idleReleaseMs: 60_000, exhaustedRecheckMs: 0, logger: createLogger("quota-test") });
  for (let i = 0; i < 3; i++) expect((await gateway.take("key_b", 100)).admitted).toBe(true);
  expect(service.used()).toBeGreaterThan(3);
  await gateway.close();
  expect(service.used()).toBe(3);
});

it("leases the next batch while the current one lasts, so a steady caller, once its pace is known, never waits for KeyService", async () => {
  const service = fakeKeyService(1_000_000);
  const gateway = new QuotaLeases(service.client, { baseLease: 100, leaseAheadMs: 1000, idleReleaseMs: 60_000, exhaustedRecheckMs: 0, logger: createLogger("quota-test") });
  expect((await gateway.take("key_c", 1_000_000)).admitted).toBe(true);
  for (let round = 0; round < 8; round++) {
    const decisions = Array.from({ length: 60 }, () => gateway.take("key_c", 1_000_000));
    // The base batch is smaller than a burst; from the third lease on, batches follow the pace and
    // every decision comes at once from leased tokens: a plain value, never a promise waiting on KeyService.
    if (round >= 3) expect(decisions.filter((d) => d instanceof Promise)).toHaveLength(0);
    expect((await Promise.all(decisions)).every((d) => d.admitted)).toBe(true);
    // A steady caller's pace: the fake answers within 3 ms.
    await new Promise((r) => setTimeout(r, 10));
  }
  await gateway.close();
});

it("sizes a busy key's batches to its demand, within a tenth of what is left, and a quiet key's to the base", async () => {
  const service = fakeKeyService(1_000_000);
  const requested: number[] = [];
  const acquireQuota = service.client.acquireQuota.bind(service.client);
  service.client.acquireQuota = ((req: { tokens: bigint }) => (requested.push(Number(req.tokens)), acquireQuota(req as never))) as typeof acquireQuota;
  const gateway = new QuotaLeases(service.client, { baseLease: 100, leaseAheadMs: 1000, idleReleaseMs: 60_000, exhaustedRecheckMs: 0, logger: createLogger("quota-test") });
  // About 200 requests every 10 ms: some 20,000 a second at first.
  const started = Date.now();
  let served = 0;
  while (requested.length < 4) {
    served += (await Promise.all(Array.from({ length: 200 }, () => gateway.take("key_e", 1_000_000)))).length;
    await new Promise((r) => setTimeout(r, 10));
  }
  const demand = (served * 1000) / (Date.now() - started);
  // The first two leases know no demand yet; the later ones cover about a second of it, capped at a tenth of what is left.
  expect(requested.slice(0, 2).every((tokens) => tokens <= 100 + 200)).toBe(true);
  const later = requested.slice(2);
  expect(later.every((tokens) => tokens > 100 && tokens <= 100_000)).toBe(true);
  expect(Math.max(...later)).toBeGreaterThan(demand / 4);
  await gateway.close();

  // Over a small limit the tenth of what is left decides, as before.
  const small = fakeKeyService(2000);
  const sizes: number[] = [];
  const smallAcquire = small.client.acquireQuota.bind(small.client);
  small.client.acquireQuota = ((req: { tokens: bigint }) => (sizes.push(Number(req.tokens)), smallAcquire(req as never))) as typeof smallAcquire;
  const limited = new QuotaLeases(small.client, { baseLease: 100, leaseAheadMs: 1000, idleReleaseMs: 60_000, exhaustedRecheckMs: 0, logger: createLogger("quota-test") });
  for (let i = 0; i < 5; i++) {
    await Promise.all(Array.from({ length: 150 }, () => limited.take("key_f", 2000)));
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(sizes.every((tokens) => tokens <= 200 + 150)).toBe(true);
  await limited.close();
  expect(small.used()).toBe(750);
});

it("refuses locally for a while once the window is exhausted, so refusals do not each ask KeyService", async () => {
  const service = fakeKeyService(5);
  let calls = 0;
  const acquireQuota = service.client.acquireQuota.bind(service.client);
  service.client.acquireQuota = ((req: never) => (calls++, acquireQuota(req))) as typeof acquireQuota;
  const gateway = new QuotaLeases(service.client, { baseLease: 100, leaseAheadMs: 1000, idleReleaseMs: 60_000, exhaustedRecheckMs: 60_000, logger: createLogger("quota-test") });
  const first = await Promise.all(Array.from({ length: 8 }, () => gateway.take("key_d", 5)));
  expect(first.filter((d) => d.admitted)).toHaveLength(5);
  const asked = calls;
  const refused = await Promise.all(Array.from({ length: 50 }, () => gateway.take("key_d", 5)));
  expect(refused.every((d) => !d.admitted && d.remaining === 0)).toBe(true);
  expect(calls).toBe(asked);
  // A change of the key (e.g. a raised limit) asks again at once.
  gateway.keyChanged("key_d");
  await gateway.take("key_d", 5);
  expect(calls).toBe(asked + 1);
  await gateway.close();
});
