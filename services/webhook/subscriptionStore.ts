// Subscriptions, always scoped to their owner: another owner's id reads as absent.
import { and, desc, eq, gt, inArray, isNotNull, or } from "drizzle-orm";
import { newId } from "./ids.js";
import { deliveries, subscriptions } from "./schema.js";
import { newSigningSecret } from "./signature.js";
import type { SubscriptionRow, WebhookDb } from "./webhookDb.js";

export interface SubscriptionPatch {
  url?: string;
  eventTypes?: string[];
  description?: string;
  enabled?: boolean;
  paused?: boolean;
}

export class SubscriptionStore {
  constructor(private readonly db: WebhookDb) {}

  async create(owner: string, input: { url: string; eventTypes: string[]; description: string }): Promise<SubscriptionRow> {
    const [row] = await this.db
      .insert(subscriptions)
      .values({ id: newId("wh"), ownerKeyId: owner, secret: newSigningSecret(), ...input })
      .returning();
    return row!;
  }

  list(owner: string, limit: number, offset: number): Promise<SubscriptionRow[]> {
    return this.db
      .select()
      .from(subscriptions)
      .where(eq(subscriptions.ownerKeyId, owner))
      .orderBy(desc(subscriptions.createdAt), desc(subscriptions.id))
      .limit(limit)
      .offset(offset);
  }

  /** Every owner's subscriptions, for operators: most failures in a row first. */
  listAll(failingOnly: boolean, limit: number, offset: number): Promise<SubscriptionRow[]> {
    const failing = or(gt(subscriptions.consecutiveFailures, 0), isNotNull(subscriptions.circuitOpenUntil), eq(subscriptions.enabled, false));
    return this.db
      .select()
      .from(subscriptions)
      .where(failingOnly ? failing : undefined)
      .orderBy(desc(subscriptions.consecutiveFailures), desc(subscriptions.createdAt), desc(subscriptions.id))
      .limit(limit)
      .offset(offset);
  }

  async get(owner: string, id: string): Promise<SubscriptionRow | undefined> {
    const [row] = await this.db
      .select()
      .from(subscriptions)
      .where(and(eq(subscriptions.id, id), eq(subscriptions.ownerKeyId, owner)));
    return row;
  }

  /** Re-enabling clears the platform's reason and failure clock. */
  async update(owner: string, id: string, patch: SubscriptionPatch): Promise<SubscriptionRow | undefined> {
    const reenable = patch.enabled === true ? { disabledReason: "", failingSince: null } : {};
    const [row] = await this.db
      .update(subscriptions)
      .set({ ...patch, ...reenable, updatedAt: new Date() })
      .where(and(eq(subscriptions.id, id), eq(subscriptions.ownerKeyId, owner)))
      .returning();
    return row;
  }

  /** Deletes it and drops its unfinished deliveries in the same transaction (deliveries locked first, as the worker's writes do). */
  async delete(owner: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [owned] = await tx
        .select({ id: subscriptions.id })
        .from(subscriptions)
        .where(and(eq(subscriptions.id, id), eq(subscriptions.ownerKeyId, owner)));
      if (!owned) return false;
      await tx
        .update(deliveries)
        .set({ status: "dropped", nextAttemptAt: null, leasedUntil: null })
        .where(and(eq(deliveries.subscriptionId, id), inArray(deliveries.status, ["pending", "retrying"])));
      const removed = await tx.delete(subscriptions).where(eq(subscriptions.id, id)).returning({ id: subscriptions.id });
      return removed.length > 0;
    });
  }

  async rotateSecret(owner: string, id: string, graceSeconds: number): Promise<SubscriptionRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [current] = await tx
        .select()
        .from(subscriptions)
        .where(and(eq(subscriptions.id, id), eq(subscriptions.ownerKeyId, owner)))
        .for("update");
      if (!current) return undefined;
      const now = new Date();
      const [row] = await tx
        .update(subscriptions)
        .set({
          secret: newSigningSecret(),
          previousSecret: graceSeconds > 0 ? current.secret : null,
          previousSecretExpiresAt: new Date(now.getTime() + graceSeconds * 1000),
          updatedAt: now,
        })
        .where(eq(subscriptions.id, id))
        .returning();
      return row;
    });
  }
}

/** The secrets that sign now: the current one, then the previous one while its grace lasts. */
export function signingSecrets(row: SubscriptionRow, now = new Date()): string[] {
  const previousValid = row.previousSecret && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now;
  return previousValid ? [row.secret, row.previousSecret!] : [row.secret];
}
