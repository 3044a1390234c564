// KeyService: key lifecycle, verification and the hourly quota counters.
// Input rules live in key.proto (buf.validate); requestRules() applies them first.
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { randomBytes } from "node:crypto";
import { KeyService, AcquireQuotaResponseSchema, CreateKeyResponseSchema, GetKeyResponseSchema, ListKeysResponseSchema, ReleaseQuotaResponseSchema, RevokeKeyResponseSchema, RotateKeyResponseSchema, UpdateKeyResponseSchema, VerifyKeyResponseSchema } from "../../gen/onering/v1/key_pb.js";
import { apiKeyPrefix, generateApiKey, hashApiKey, isWellFormedApiKey } from "../shared/apiKeyFormat.js";
import type { MeshConfig } from "../shared/config.js";
import { meshError } from "../shared/errors.js";
import { secretsEqual } from "../shared/internalAuth.js";
import type { Logger } from "../shared/logger.js";
import { requestIdOf } from "../shared/requestId.js";
import type { KeyRow, KeyStore } from "./keyStore.js";
import { hourlyLimit, windowSeconds, windowStartOf } from "./limits.js";
import { decodePageToken, encodePageToken } from "./pageToken.js";
import { toApiKey } from "./toProto.js";

export interface KeyHandlerDeps {
  store: KeyStore;
  limits: MeshConfig["rateLimits"];
  logger: Logger;
  /** Announces that a key changed so gateways drop what they cached. */
  keyChanged: (keyId: string) => void;
  now?: () => Date;
}

const notFound = (id: string) => meshError("NOT_FOUND", `no key ${JSON.stringify(id.slice(0, 64))}`);

export function createKeyHandlers(deps: KeyHandlerDeps): ServiceImpl<typeof KeyService> {
  const { store, limits, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const apiKey = (row: KeyRow) => toApiKey(row, limits);
  const existing = async (id: string) => {
    const row = id.startsWith("key_") ? await store.get(id) : undefined;
    if (!row) throw notFound(id);
    return row;
  };

  return {
    async createKey(req, ctx) {
      const at = now();
      const secret = generateApiKey(req.testMode);
      const row = await store.insert({
        id: `key_${randomBytes(12).toString("hex")}`,
        name: req.name,
        tier: req.tier || "free",
        canary: req.canary,
        prefix: apiKeyPrefix(secret),
        secretHash: hashApiKey(secret),
        metadata: req.metadata,
        createdAt: at,
        expiresAt: req.expireTime ? timestampDate(req.expireTime) : null,
      });
      logger.info({ request_id: requestIdOf(ctx.requestHeader), keyId: row.id, tier: row.tier, canary: row.canary }, "key created");
      return create(CreateKeyResponseSchema, { key: apiKey(row), secret });
    },

    async listKeys(req) {
      const pageSize = req.pageSize || 50;
      const rows = await store.list({
        pageSize,
        after: decodePageToken(req.pageToken),
        tier: req.tier || undefined,
        canary: req.canary,
        includeRevoked: req.includeRevoked,
      });
      const page = rows.slice(0, pageSize);
      const last = page.at(-1);
      return create(ListKeysResponseSchema, {
        keys: page.map(apiKey),
        nextPageToken: rows.length > pageSize && last ? encodePageToken(last) : "",
      });
    },

    async getKey(req) {
      return create(GetKeyResponseSchema, { key: apiKey(await existing(req.id)) });
    },

    async updateKey(req, ctx) {
      await existing(req.id);
      const changes: Partial<Pick<KeyRow, "name" | "tier" | "canary">> = {};
      if (req.name !== undefined) changes.name = req.name;
      if (req.tier !== undefined) changes.tier = req.tier;
      if (req.canary !== undefined) changes.canary = req.canary;
      const row = await store.update(req.id, changes);
      if (!row) throw notFound(req.id);
      deps.keyChanged(row.id);
      logger.info({ request_id: requestIdOf(ctx.requestHeader), keyId: row.id, changed: Object.keys(changes) }, "key updated");
      return create(UpdateKeyResponseSchema, { key: apiKey(row) });
    },

    async rotateKey(req, ctx) {
      const current = await existing(req.id);
      if (current.revokedAt) throw meshError("API_KEY_REVOKED", "a revoked key cannot be rotated");
      const previousValidUntil = new Date(now().getTime() + Number(req.gracePeriodSeconds) * 1000);
      const secret = generateApiKey(current.prefix.startsWith("sk_test_"));
      const row = await store.rotate(req.id, hashApiKey(secret), apiKeyPrefix(secret), previousValidUntil);
      if (!row) throw meshError("API_KEY_REVOKED", "a revoked key cannot be rotated");
      deps.keyChanged(row.id);
      logger.info({ request_id: requestIdOf(ctx.requestHeader), keyId: row.id, graceSeconds: Number(req.gracePeriodSeconds) }, "key rotated");
      return create(RotateKeyResponseSchema, { key: apiKey(row), secret, previousSecretExpireTime: timestampFromDate(previousValidUntil) });
    },

    async revokeKey(req, ctx) {
      await existing(req.id);
      const row = await store.revoke(req.id, now());
      if (!row) throw notFound(req.id);
      deps.keyChanged(row.id);
      logger.info({ request_id: requestIdOf(ctx.requestHeader), keyId: row.id }, "key revoked");
      return create(RevokeKeyResponseSchema, { key: apiKey(row) });
    },

    async verifyKey(req) {
      if (!isWellFormedApiKey(req.secret)) throw meshError("INVALID_API_KEY", "malformed API key");
      const hash = hashApiKey(req.secret);
      const row = await store.findBySecretHash(hash);
      if (!row) throw meshError("INVALID_API_KEY", "unknown API key");
      const at = now();
      if (row.revokedAt) throw meshError("API_KEY_REVOKED", "API key revoked");
      if (row.expiresAt && row.expiresAt <= at) throw meshError("API_KEY_REVOKED", "API key expired");
      let validUntil = row.expiresAt ?? undefined;
      if (!secretsEqual(hash, row.secretHash)) {
        // The previous secret of a rotation: valid only until its grace ends.
        if (!row.previousValidUntil || row.previousValidUntil <= at) throw meshError("API_KEY_REVOKED", "API key rotated and its grace period ended");
        if (!validUntil || row.previousValidUntil < validUntil) validUntil = row.previousValidUntil;
      }
      return create(VerifyKeyResponseSchema, { key: apiKey(row), validUntil: validUntil && timestampFromDate(validUntil) });
    },

    async acquireQuota(req) {
      const tokens = Number(req.tokens);
      const row = await existing(req.keyId);
      const at = now();
      const windowStart = windowStartOf(at);
      const limit = hourlyLimit(limits, row.tier, row.canary);
      const grant = await store.acquire(row.id, windowStart, tokens, limit, Number(req.served), at);
      return create(AcquireQuotaResponseSchema, {
        granted: BigInt(grant.granted),
        limit: BigInt(limit),
        remaining: BigInt(Math.max(limit - grant.used, 0)),
        windowStart: BigInt(windowStart),
        reset: BigInt(windowStart + windowSeconds),
      });
    },

    async releaseQuota(req) {
      const tokens = Number(req.tokens);
      const row = await existing(req.keyId);
      const used = await store.release(row.id, Number(req.windowStart), tokens, Number(req.served), now());
      const limit = hourlyLimit(limits, row.tier, row.canary);
      return create(ReleaseQuotaResponseSchema, { remaining: BigInt(Math.max(limit - used, 0)) });
    },
  };
}
