// Tiers and the hourly limit that applies to a key (DESIGN.md, "Keys").
import type { MeshConfig } from "../shared/config.js";

export const tiers = ["free", "pro", "enterprise"] as const;
export type Tier = (typeof tiers)[number];

export function isTier(value: string): value is Tier {
  return (tiers as readonly string[]).includes(value);
}

/** A canary key gets the canary limit whatever its tier. */
export function hourlyLimit(limits: MeshConfig["rateLimits"], tier: string, canary: boolean): number {
  if (canary) return limits.canary;
  return isTier(tier) ? limits[tier] : limits.free;
}

export const windowSeconds = 3600;

/** Start of the hourly window containing `now`, in Unix seconds. */
export function windowStartOf(now: Date): number {
  const seconds = Math.floor(now.getTime() / 1000);
  return seconds - (seconds % windowSeconds);
}
