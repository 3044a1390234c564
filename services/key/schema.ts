// Tables of the `keys` schema, owned by KeyService alone.
import { bigint, boolean, index, integer, jsonb, pgSchema, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

export const keysSchema = pgSchema("keys");

export const apiKeys = keysSchema.table(
  "api_keys",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    tier: text("tier").notNull(),
    canary: boolean("canary").notNull().default(false),
    prefix: text("prefix").notNull(),
    /** SHA-256 of the current secret; the secret itself is never stored. */
    secretHash: text("secret_hash").notNull().unique(),
    /** SHA-256 of the secret before the last rotation, valid until previousValidUntil. */
    previousSecretHash: text("previous_secret_hash").unique(),
    previousValidUntil: timestamp("previous_valid_until", { withTimezone: true }),
    metadata: jsonb("metadata").$type<Record<string, string>>().notNull().default({}),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    usageCount: bigint("usage_count", { mode: "number" }).notNull().default(0),
  },
  (t) => [index("api_keys_created_at_idx").on(t.createdAt)],
);

/** Requests admitted per key and hourly window; the exact, shared rate-limit counter. */
export const rateWindows = keysSchema.table(
  "rate_windows",
  {
    keyId: text("key_id").notNull(),
    windowStart: bigint("window_start", { mode: "number" }).notNull(),
    used: integer("used").notNull().default(0),
    /** Tokens the latest AcquireQuota granted: the one statement that moves `used` also reports its grant. */
    granted: integer("granted").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.keyId, t.windowStart] })],
);
