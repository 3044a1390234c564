// Webhooks, always scoped to their owner: another owner's id reads as absent.
import { and, desc, eq, gt, inArray, isNotNull, or } from "drizzle-orm";
import { newId } from "./ids.js";
import { after, cursorTimeOf, type Cursor } from "./pageToken.js";
import { deliveries, webhooks } from "./schema.js";
import { newSigningSecret } from "./signature.js";
import type { WebhookRow, WebhookDb } from "./webhookDb.js";

export interface WebhookPatch {
  url?: string;
  eventTypes?: string[];
  description?: string;
  enabled?: boolean;
  paused?: boolean;
}

export class WebhookStore {
  constructor(private readonly db: WebhookDb) {}

  async create(owner: string, input: { url: string; eventTypes: string[]; description: string }): Promise<WebhookRow> {
    const [row] = await this.db
      .insert(webhooks)
      .values({ id: newId("wh"), ownerKeyId: owner, secret: newSigningSecret(), ...input })
      .returning();
    return row!;
  }

  /** Newest first, from after the cursor; up to limit rows plus one that tells whether another page follows. */
  async list(owner: string, limit: number, from: Cursor | undefined): Promise<Array<{ row: WebhookRow; cursor: Cursor }>> {
    const owned = eq(webhooks.ownerKeyId, owner);
    const rows = await this.db
      .select({ row: webhooks, time: cursorTimeOf(webhooks.createdAt) })
      .from(webhooks)
      .where(from ? and(owned, after(webhooks.createdAt, webhooks.id, from)) : owned)
      .orderBy(desc(webhooks.createdAt), desc(webhooks.id))
      .limit(limit + 1);
    return rows.map(({ row, time }) => ({ row, cursor: { time, id: row.id } }));
  }

  /** Every owner's webhooks, for operators, newest first from after the cursor (limit plus one rows); `failingOnly` keeps those failing, open or disabled. */
  async listAll(failingOnly: boolean, limit: number, from: Cursor | undefined): Promise<Array<{ row: WebhookRow; cursor: Cursor }>> {
    const failing = failingOnly ? or(gt(webhooks.consecutiveFailures, 0), isNotNull(webhooks.circuitOpenUntil), eq(webhooks.enabled, false)) : undefined;
    const rows = await this.db
      .select({ row: webhooks, time: cursorTimeOf(webhooks.createdAt) })
      .from(webhooks)
      .where(and(failing, from ? after(webhooks.createdAt, webhooks.id, from) : undefined))
      .orderBy(desc(webhooks.createdAt), desc(webhooks.id))
      .limit(limit + 1);
    return rows.map(({ row, time }) => ({ row, cursor: { time, id: row.id } }));
  }

  async get(owner: string, id: string): Promise<WebhookRow | undefined> {
    const [row] = await this.db
      .select()
      .from(webhooks)
      .where(and(eq(webhooks.id, id), eq(webhooks.ownerKeyId, owner)));
    return row;
  }

  /** Re-enabling clears the platform's reason and failure clock. */
  async update(owner: string, id: string, patch: WebhookPatch): Promise<WebhookRow | undefined> {
    const reenable = patch.enabled === true ? { disabledReason: "", failingSince: null } : {};
    const [row] = await this.db
      .update(webhooks)
      .set({ ...patch, ...reenable, updatedAt: new Date() })
      .where(and(eq(webhooks.id, id), eq(webhooks.ownerKeyId, owner)))
      .returning();
    return row;
  }

  /** Deletes it and drops its unfinished deliveries in the same transaction (deliveries locked first, as the worker's writes do). */
  async delete(owner: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [owned] = await tx
        .select({ id: webhooks.id })
        .from(webhooks)
        .where(and(eq(webhooks.id, id), eq(webhooks.ownerKeyId, owner)));
      if (!owned) return false;
      await tx
        .update(deliveries)
        .set({ status: "dropped", nextAttemptAt: null, leasedUntil: null })
        .where(and(eq(deliveries.webhookId, id), inArray(deliveries.status, ["pending", "retrying"])));
      const removed = await tx.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id });
      return removed.length > 0;
    });
  }

  async rotateSecret(owner: string, id: string, graceSeconds: number): Promise<WebhookRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [current] = await tx
        .select()
        .from(webhooks)
        .where(and(eq(webhooks.id, id), eq(webhooks.ownerKeyId, owner)))
        .for("update");
      if (!current) return undefined;
      const now = new Date();
      const [row] = await tx
        .update(webhooks)
        .set({
          secret: newSigningSecret(),
          previousSecret: graceSeconds > 0 ? current.secret : null,
          previousSecretExpiresAt: new Date(now.getTime() + graceSeconds * 1000),
          updatedAt: now,
        })
        .where(eq(webhooks.id, id))
        .returning();
      return row;
    });
  }
}

/** The secrets that sign now: the current one, then the previous one while its grace lasts. */
export function signingSecrets(row: WebhookRow, now = new Date()): string[] {
  const previousValid = row.previousSecret && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now;
  return previousValid ? [row.secret, row.previousSecret!] : [row.secret];
}
