// The four kill switches, held in a NATS KV bucket that every process watches,
// so a flip takes effect across the mesh within a second without a restart.
// Environment values are the start-up defaults: they replace a stored value
// unless an operator set that flag live through the flags API. The bucket's
// history is the audit list of flips (who, when), so it keeps the most NATS allows.
import { Kvm, type KV } from "@nats-io/kv";
import type { MeshConfig } from "./config.js";
import type { Logger } from "./logger.js";
import { retryTimeouts, type NatsConnection } from "./nats.js";

export type FlagName = keyof MeshConfig["flags"];
export const flagNames = ["external_api_enabled", "external_api_canary_only", "webhooks_enabled", "webhooks_delivery_enabled"] as const satisfies readonly FlagName[];

export interface FlagState {
  name: FlagName;
  enabled: boolean;
  /** When it was last set through the flags API; undefined for the start-up default. */
  updatedAt?: Date;
  updatedBy?: string;
}

interface StoredFlag {
  enabled: boolean;
  updated_at?: string;
  updated_by?: string;
}

// NATS KV's maximum history per key; a bucket made before keeps its own.
const flagHistory = 64;

export function isFlagName(name: string): name is FlagName {
  return (flagNames as readonly string[]).includes(name);
}

export class RuntimeFlags {
  private readonly states = new Map<FlagName, FlagState>();
  private readonly listeners = new Set<(flag: FlagState) => void>();

  private constructor(
    private readonly kv: KV,
    defaults: MeshConfig["flags"],
    private readonly logger: Logger,
  ) {
    for (const name of flagNames) this.states.set(name, { name, enabled: defaults[name] });
  }

  /** `replicas` applies when this call creates the bucket; an existing bucket keeps its own. */
  static async open(nc: NatsConnection, bucket: string, replicas: number, defaults: MeshConfig["flags"], logger: Logger): Promise<RuntimeFlags> {
    const kv = await retryTimeouts(() => new Kvm(nc).create(bucket, { history: flagHistory, replicas }));
    const flags = new RuntimeFlags(kv, defaults, logger);
    for (const name of flagNames) {
      const stored = (await retryTimeouts(() => kv.get(name)))?.json<StoredFlag>();
      if (stored?.updated_by === undefined && stored?.enabled !== defaults[name]) {
        await kv.put(name, JSON.stringify({ enabled: defaults[name] } satisfies StoredFlag));
      }
    }
    const watch = await kv.watch({ key: ">" });
    let initialised!: () => void;
    const loaded = new Promise<void>((resolve) => (initialised = resolve));
    void (async () => {
      for await (const entry of watch) {
        if (isFlagName(entry.key) && entry.operation === "PUT") flags.apply(entry.key, entry.json<StoredFlag>());
        // The replay ends at the entry with nothing pending after it (the client marks
        // that last one isUpdate already, so isUpdate cannot tell).
        if (entry.delta === 0) initialised();
      }
    })();
    // The watcher first replays current values; wait for them (bounded) before serving.
    await Promise.race([loaded, new Promise((r) => setTimeout(r, 2000))]);
    return flags;
  }

  private apply(name: FlagName, stored: StoredFlag): void {
    const state: FlagState = {
      name,
      enabled: stored.enabled,
      updatedAt: stored.updated_at ? new Date(stored.updated_at) : undefined,
      updatedBy: stored.updated_by,
    };
    const changed = this.states.get(name)?.enabled !== state.enabled;
    this.states.set(name, state);
    if (changed) {
      this.logger.info({ flag: name, enabled: state.enabled, by: state.updatedBy }, "runtime flag changed");
      for (const listener of this.listeners) listener(state);
    }
  }

  enabled(name: FlagName): boolean {
    return this.states.get(name)!.enabled;
  }

  list(): FlagState[] {
    return flagNames.map((name) => this.states.get(name)!);
  }

  /** Called whenever a flag's value changes, in this process or elsewhere. */
  onChange(listener: (flag: FlagState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every flip set through the flags API that the bucket still holds, newest first. */
  async changes(): Promise<FlagState[]> {
    const changes: FlagState[] = [];
    for (const name of flagNames) {
      for await (const entry of await this.kv.history({ key: name })) {
        if (entry.operation !== "PUT") continue;
        const stored = entry.json<StoredFlag>();
        // Entries without an author are start-up defaults, not flips.
        if (stored.updated_by !== undefined && stored.updated_at !== undefined) {
          changes.push({ name, enabled: stored.enabled, updatedAt: new Date(stored.updated_at), updatedBy: stored.updated_by });
        }
      }
    }
    return changes.sort((a, b) => b.updatedAt!.getTime() - a.updatedAt!.getTime());
  }

  /** Sets a flag mesh-wide and records who changed it (the audit trail is the log and the KV history). */
  /** `requestId` names the request that set it in the audit line. */
  async set(name: FlagName, enabled: boolean, by: string, requestId?: string): Promise<FlagState> {
    const stored: StoredFlag = { enabled, updated_at: new Date().toISOString(), updated_by: by };
    await this.kv.put(name, JSON.stringify(stored));
    this.logger.info({ audit: true, flag: name, enabled, by, request_id: requestId }, "runtime flag set");
    this.apply(name, stored);
    return this.states.get(name)!;
  }
}
