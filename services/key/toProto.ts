// Stored key rows as the ApiKey message (never with a secret or its hash).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ApiKeySchema, type ApiKey } from "../../gen/onering/v1/key_pb.js";
import type { MeshConfig } from "../shared/config.js";
import type { KeyRow } from "./keyStore.js";
import { hourlyLimit } from "./limits.js";

const time = (date: Date | null) => (date ? timestampFromDate(date) : undefined);

export function toApiKey(row: KeyRow, limits: MeshConfig["rateLimits"]): ApiKey {
  return create(ApiKeySchema, {
    id: row.id,
    name: row.name,
    tier: row.tier,
    canary: row.canary,
    prefix: row.prefix,
    createTime: time(row.createdAt),
    expireTime: time(row.expiresAt),
    revokeTime: time(row.revokedAt),
    lastUsedTime: time(row.lastUsedAt),
    metadata: row.metadata,
    usageCount: BigInt(row.usageCount),
    rateLimitPerHour: BigInt(hourlyLimit(limits, row.tier, row.canary)),
  });
}
