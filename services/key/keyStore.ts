// Storage of keys and their hourly counters in the `keys` schema. Secrets
// never reach this module: only their SHA-256 hashes.
import { and, desc, eq, isNull, isNotNull, lt, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "../shared/database.js";
import { apiKeys, rateWindows } from "./schema.js";
import type * as schema from "./schema.js";

export type KeyRow = typeof apiKeys.$inferSelect;
export type NewKeyRow = typeof apiKeys.$inferInsert;

export interface ListFilter {
  pageSize: number;
  after?: { createdAt: Date; id: string };
  tier?: string;
  canary?: boolean;
  includeRevoked: boolean;
}

export interface Grant {
  granted: number;
  used: number;
}

export class KeyStore {
  constructor(private readonly db: Db<typeof schema>) {}

  async insert(row: NewKeyRow): Promise<KeyRow> {
    const [created] = await this.db.insert(apiKeys).values(row).returning();
    return created!;
  }

  async get(id: string): Promise<KeyRow | undefined> {
    const [row] = await this.db.select().from(apiKeys).where(eq(apiKeys.id, id));
    return row;
  }

  /** Newest first; one extra row tells whether another page follows. */
  async list(filter: ListFilter): Promise<KeyRow[]> {
    const conditions: SQL[] = [];
    if (!filter.includeRevoked) conditions.push(isNull(apiKeys.revokedAt));
    if (filter.tier) conditions.push(eq(apiKeys.tier, filter.tier));
    if (filter.canary !== undefined) conditions.push(eq(apiKeys.canary, filter.canary));
    if (filter.after) {
      const { createdAt, id } = filter.after;
      conditions.push(or(lt(apiKeys.createdAt, createdAt), and(eq(apiKeys.createdAt, createdAt), lt(apiKeys.id, id)))!);
    }
    return this.db
      .select()
      .from(apiKeys)
      .where(and(...conditions))
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
      .limit(filter.pageSize + 1);
  }

  async update(id: string, changes: Partial<Pick<KeyRow, "name" | "tier" | "canary">>): Promise<KeyRow | undefined> {
    if (Object.keys(changes).length === 0) return this.get(id);
    const [row] = await this.db.update(apiKeys).set(changes).where(eq(apiKeys.id, id)).returning();
    return row;
  }

  /** Swaps in a new secret hash; the current one becomes the previous, valid until `previousValidUntil`. */
  async rotate(id: string, secretHash: string, prefix: string, previousValidUntil: Date): Promise<KeyRow | undefined> {
    const [row] = await this.db
      .update(apiKeys)
      .set({ previousSecretHash: sql`${apiKeys.secretHash}`, previousValidUntil, secretHash, prefix })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning();
    return row;
  }

  /** Revokes once; revoking again keeps the first revocation time. */
  async revoke(id: string, at: Date): Promise<KeyRow | undefined> {
    const [row] = await this.db
      .update(apiKeys)
      .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${at.toISOString()}::timestamptz)` })
      .where(eq(apiKeys.id, id))
      .returning();
    return row;
  }

  /** The key whose current or previous secret has this hash. */
  async findBySecretHash(hash: string): Promise<KeyRow | undefined> {
    const [row] = await this.db
      .select()
      .from(apiKeys)
      .where(or(eq(apiKeys.secretHash, hash), and(isNotNull(apiKeys.previousSecretHash), eq(apiKeys.previousSecretHash, hash))));
    return row;
  }

  /**
   * Grants up to `tokens` from the window in one atomic statement, so any
   * number of callers together never pass `limit`. Usage counts the requests
   * the caller reports as served, never leased tokens, so it does not run ahead.
   */
  async acquire(keyId: string, windowStart: number, tokens: number, limit: number, served: number, now: Date): Promise<Grant> {
    return this.db.transaction(async (tx) => {
      const result = (await tx.execute(sql`
        insert into ${rateWindows} as w (key_id, window_start, used, granted)
        values (${keyId}, ${windowStart}, least(${tokens}::int, greatest(${limit}::int, 0)), least(${tokens}::int, greatest(${limit}::int, 0)))
        on conflict (key_id, window_start) do update
          set used = w.used + least(${tokens}::int, greatest(${limit}::int - w.used, 0)),
              granted = least(${tokens}::int, greatest(${limit}::int - w.used, 0))
        returning granted, used`)) as unknown as { rows: { granted: number; used: number }[] };
      const grant = result.rows[0]!;
      if (grant.granted > 0 || served > 0) await this.recordServed(tx, keyId, served, now);
      return { granted: Number(grant.granted), used: Number(grant.used) };
    });
  }

  private async recordServed(tx: Pick<Db<typeof schema>, "update">, keyId: string, served: number, now: Date): Promise<void> {
    await tx
      .update(apiKeys)
      .set({ usageCount: sql`${apiKeys.usageCount} + ${served}`, lastUsedAt: now })
      .where(eq(apiKeys.id, keyId));
  }

  /** Gives back unused tokens of a window and records requests served; returns the window's count after it. */
  async release(keyId: string, windowStart: number, tokens: number, served: number, now: Date): Promise<number> {
    return this.db.transaction(async (tx) => {
      if (served > 0) await this.recordServed(tx, keyId, served, now);
      const [row] = await tx
        .update(rateWindows)
        .set({ used: sql`greatest(${rateWindows.used} - ${tokens}::int, 0)` })
        .where(and(eq(rateWindows.keyId, keyId), eq(rateWindows.windowStart, windowStart)))
        .returning({ used: rateWindows.used });
      return row?.used ?? 0;
    });
  }
}
