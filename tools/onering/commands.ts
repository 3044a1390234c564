// The admin CLI's commands, one function each, over the gateway's Connect API.
import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { ConnectError, type Client } from "@connectrpc/connect";
import type { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import {
  CreateKeyResponseSchema,
  ListKeysResponseSchema,
  RevokeKeyResponseSchema,
  RotateKeyResponseSchema,
} from "../../gen/onering/v1/key_pb.js";
import { ListFlagsResponseSchema, SetFlagResponseSchema } from "../../gen/onering/v1/gateway_pb.js";
import { GetExternalMetricsResponseSchema, GetWebhookMetricsResponseSchema } from "../../gen/onering/v1/metrics_pb.js";
import { ListDeadLettersResponseSchema, PublishEventResponseSchema, ReplayDeliveryResponseSchema } from "../../gen/onering/v1/webhook_pb.js";
import { reasonOf, reasons } from "../../services/shared/errors.js";
import { renderDashboard } from "./dashboard.js";
import { table } from "./table.js";

export interface CommandContext {
  client: Client<typeof GatewayService>;
  json: boolean;
  out: (text: string) => void;
  /** Progress lines for bulk operations (stderr, so --json output stays clean). */
  progress: (text: string) => void;
}

export class UsageError extends Error {}

const when = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString() : "-");

// Like the REST surface: proto field names, and zeros and falses written out, so `jq` finds every field.
const jsonOptions = { useProtoFieldName: true, alwaysEmitImplicit: true } as const;

function print<S extends DescMessage>(ctx: CommandContext, schema: S, message: MessageShape<S>, human: () => string): void {
  ctx.out(ctx.json ? JSON.stringify(toJson(schema, message, jsonOptions), null, 2) : human());
}

function onOff(value: string | undefined): boolean {
  if (value === "on" || value === "true") return true;
  if (value === "off" || value === "false") return false;
  throw new UsageError(`expected on or off, got "${value ?? ""}"`);
}

export const commands = {
  async "keys create"(ctx: CommandContext, opts: Record<string, string | boolean | undefined>) {
    if (typeof opts.name !== "string") throw new UsageError("keys create needs --name");
    const res = await ctx.client.createKey({ name: opts.name, tier: typeof opts.tier === "string" ? opts.tier : "free", canary: opts.canary === true });
    print(ctx, CreateKeyResponseSchema, res, () =>
      `created ${res.key?.id} (${res.key?.tier}${res.key?.canary ? ", canary" : ""})\nsecret (shown once, store it now): ${res.secret}`,
    );
  },

  async "keys list"(ctx: CommandContext) {
    const res = await ctx.client.listKeys({ pageSize: 200, includeRevoked: true });
    print(ctx, ListKeysResponseSchema, res, () =>
      table(
        ["id", "name", "tier", "canary", "usage", "last used", "revoked"],
        res.keys.map((k) => [k.id, k.name, k.tier, k.canary ? "yes" : "", String(k.usageCount), when(k.lastUsedTime), when(k.revokeTime)]),
      ),
    );
  },

  async "keys rotate"(ctx: CommandContext, opts: Record<string, string | boolean | undefined>, id?: string) {
    if (!id) throw new UsageError("keys rotate needs a key id");
    const res = await ctx.client.rotateKey({ id, gracePeriodSeconds: BigInt(typeof opts["grace-seconds"] === "string" ? opts["grace-seconds"] : 0) });
    print(ctx, RotateKeyResponseSchema, res, () => `rotated ${id}; old secret valid until ${when(res.previousSecretExpireTime)}\nnew secret (shown once): ${res.secret}`);
  },

  async "keys revoke"(ctx: CommandContext, _opts: unknown, id?: string) {
    if (!id) throw new UsageError("keys revoke needs a key id");
    const res = await ctx.client.revokeKey({ id });
    print(ctx, RevokeKeyResponseSchema, res, () => `revoked ${id} at ${when(res.key?.revokeTime)}`);
  },

  async "flags get"(ctx: CommandContext) {
    const res = await ctx.client.listFlags({});
    print(ctx, ListFlagsResponseSchema, res, () =>
      table(["flag", "enabled", "changed", "by"], res.flags.map((f) => [f.name, f.enabled ? "on" : "off", when(f.updateTime), f.updatedBy || "-"])),
    );
  },

  async "flags set"(ctx: CommandContext, _opts: unknown, name?: string, value?: string) {
    if (!name) throw new UsageError("flags set needs a flag name and on|off");
    const res = await ctx.client.setFlag({ name, enabled: onOff(value) });
    print(ctx, SetFlagResponseSchema, res, () => `${res.flag?.name} is now ${res.flag?.enabled ? "on" : "off"}`);
  },

  async "events publish"(ctx: CommandContext, opts: Record<string, string | boolean | undefined>) {
    if (typeof opts.type !== "string") throw new UsageError("events publish needs --type");
    let data: unknown = {};
    try {
      data = JSON.parse(typeof opts.data === "string" ? opts.data : "{}");
    } catch {
      throw new UsageError("--data must be a JSON object");
    }
    const res = await ctx.client.publishEvent({
      type: opts.type,
      data: data as Record<string, never>,
      idempotencyKey: typeof opts["idempotency-key"] === "string" ? opts["idempotency-key"] : "",
    });
    print(ctx, PublishEventResponseSchema, res, () =>
      `${res.replayed ? "replayed (already published)" : "published"} ${res.event?.id} to ${res.deliveryCount} webhook(s)`,
    );
  },

  async "dead-letters list"(ctx: CommandContext, opts: Record<string, string | boolean | undefined>) {
    const res = await ctx.client.listDeadLetters({ webhookId: typeof opts.webhook === "string" ? opts.webhook : "", pageSize: 200 });
    print(ctx, ListDeadLettersResponseSchema, res, () =>
      table(
        ["delivery", "webhook", "event type", "attempts", "created"],
        res.deadLetters.map((d) => [d.id, d.webhookId, d.eventType, String(d.attemptCount), when(d.createTime)]),
      ),
    );
  },

  async "dead-letters replay"(ctx: CommandContext, _opts: unknown, id?: string) {
    if (!id) throw new UsageError("dead-letters replay needs a delivery id (or use replay-all)");
    const res = await ctx.client.replayDelivery({ id });
    print(ctx, ReplayDeliveryResponseSchema, res, () =>
      `${res.resend ? "resending (already delivered)" : "replaying"} ${id} (status ${res.delivery?.status}, was ${res.previousStatus})`,
    );
  },

  async "dead-letters replay-all"(ctx: CommandContext, opts: Record<string, string | boolean | undefined>) {
    const since = typeof opts.since === "string" ? new Date(opts.since) : undefined;
    if (since && Number.isNaN(since.getTime())) throw new UsageError("--since must be an ISO date");
    // One delivery at a time, so the operator sees progress and a failure stops nothing else.
    const deadLetters: { id: string; webhookId: string }[] = [];
    let pageToken = "";
    do {
      const page = await ctx.client.listDeadLetters({ since: since && timestampFromDate(since), pageSize: 200, pageToken });
      deadLetters.push(...page.deadLetters);
      pageToken = page.nextPageToken;
    } while (pageToken);
    // A dead letter of a disabled or deleted webhook is refused (WEBHOOK_DISABLED) and stays
    // listed: not a failure, so counted apart, per webhook, with the service's words for why.
    const skipped = new Map<string, { webhook_id: string; count: number; message: string }>();
    let skippedCount = 0;
    let failed = 0;
    for (const [i, { id, webhookId }] of deadLetters.entries()) {
      try {
        await ctx.client.replayDelivery({ id });
      } catch (err) {
        const e = ConnectError.from(err);
        if (reasonOf(e) !== "WEBHOOK_DISABLED") failed++;
        else {
          skippedCount++;
          const entry = skipped.get(webhookId) ?? { webhook_id: webhookId, count: 0, message: e.rawMessage };
          skipped.set(webhookId, { ...entry, count: entry.count + 1 });
        }
      }
      const notes = [skippedCount && `${skippedCount} skipped`, failed && `${failed} failed`].filter(Boolean);
      ctx.progress(`replayed ${i + 1}/${deadLetters.length}${notes.length ? ` (${notes.join(", ")})` : ""}`);
    }
    const replayed = deadLetters.length - skippedCount - failed;
    if (ctx.json) return ctx.out(JSON.stringify({ replayed, skipped: skippedCount, failed, skipped_webhooks: [...skipped.values()] }));
    const lines = [`replayed ${replayed} dead letter(s), ${skippedCount} skipped, ${failed} failed`];
    for (const s of skipped.values()) lines.push(`skipped ${s.count} of webhook ${s.webhook_id}, left listed: ${s.message}`);
    if (skippedCount > 0) lines.push(reasons.WEBHOOK_DISABLED.recovery);
    ctx.out(lines.join("\n"));
  },

  async "metrics show"(ctx: CommandContext) {
    const [external, webhooks] = await Promise.all([ctx.client.getExternalMetrics({}), ctx.client.getWebhookMetrics({})]);
    if (ctx.json) {
      ctx.out(
        JSON.stringify(
          {
            external: toJson(GetExternalMetricsResponseSchema, external, jsonOptions),
            webhooks: toJson(GetWebhookMetricsResponseSchema, webhooks, jsonOptions),
          },
          null,
          2,
        ),
      );
    } else ctx.out(renderDashboard(external, webhooks, new Date()));
  },

  async "metrics watch"(ctx: CommandContext, opts: Record<string, string | boolean | undefined>) {
    const seconds = Number(typeof opts.interval === "string" ? opts.interval : 5);
    if (!(seconds >= 1)) throw new UsageError("--interval must be at least 1 second");
    for (;;) {
      const [external, webhooks] = await Promise.all([ctx.client.getExternalMetrics({}), ctx.client.getWebhookMetrics({})]);
      ctx.out(`\x1b[2J\x1b[H${renderDashboard(external, webhooks, new Date())}\n\n(refreshing every ${seconds}s, Ctrl-C to stop)`);
      await new Promise((r) => setTimeout(r, seconds * 1000));
    }
  },
};

export type CommandName = keyof typeof commands;
