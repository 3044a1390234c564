// One HTTP connection pool per webhook, capped at its concurrency. A pool
// per origin would couple webhooks that share a host (one customer's
// paths, a shared receiver service): a hanging path held the connections
// another webhook's attempts then queued for until they timed out. A
// pool idle for a minute is closed, so memory follows the active webhooks.
import type { Agent } from "undici";
import { createDeliveryAgent, type SendOptions } from "./sendAttempt.js";

const idleCloseMs = 60_000;

export class DeliveryAgents {
  private readonly agents = new Map<string, { agent: Agent; usedAt: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly options: SendOptions,
    private readonly connectionsPerWebhook: number,
  ) {
    this.sweeper = setInterval(() => this.closeIdle(), idleCloseMs);
    this.sweeper.unref();
  }

  /** The webhook's pool, opened on first use. */
  for(webhookId: string): Agent {
    let entry = this.agents.get(webhookId);
    if (!entry) this.agents.set(webhookId, (entry = { agent: createDeliveryAgent(this.options, this.connectionsPerWebhook), usedAt: 0 }));
    entry.usedAt = Date.now();
    return entry.agent;
  }

  // An attempt lasts at most its timeout, far less than the idle period, so no pool closes under one.
  private closeIdle(): void {
    const now = Date.now();
    for (const [webhookId, { agent, usedAt }] of this.agents) {
      if (now - usedAt < idleCloseMs) continue;
      this.agents.delete(webhookId);
      void agent.close();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.agents.values()].map(({ agent }) => agent.close()));
    this.agents.clear();
  }
}
