// What every WebhookService call checks first: the kill switch and, for
// webhook calls, the owning API key the gateway names in a header.
import type { HandlerContext } from "@connectrpc/connect";
import { meshError } from "../shared/errors.js";
import type { RuntimeFlags } from "../shared/runtimeFlags.js";

export const ownerHeader = "x-onering-owner";

export function requireWebhooksEnabled(flags: RuntimeFlags): void {
  if (!flags.enabled("webhooks_enabled")) throw meshError("WEBHOOKS_DISABLED", "webhooks are switched off");
}

/** The API key id the call acts for; webhook calls without one are refused. */
export function requireOwner(ctx: HandlerContext): string {
  const owner = ctx.requestHeader.get(ownerHeader)?.trim();
  if (!owner) throw meshError("UNAUTHENTICATED", `missing ${ownerHeader} header`);
  return owner;
}
