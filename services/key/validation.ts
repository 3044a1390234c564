// Input checks for KeyService: every violation is collected so the caller
// fixes them all at once, and nothing is written until all pass.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { CreateKeyRequest, ListKeysRequest, RotateKeyRequest, UpdateKeyRequest } from "../../gen/onering/v1/key_pb.js";
import { invalidArgument, type Violation } from "../shared/errors.js";
import { isTier, tiers } from "./limits.js";

const controlCharacters = /[\u0000-\u001f\u007f]/;
export const maxGraceSeconds = 30 * 24 * 3600;
const maxMetadataEntries = 16;

function checkName(name: string, field: string, out: Violation[]): void {
  const length = [...name].length;
  if (name.trim() === "") out.push({ field, description: "must not be empty" });
  else if (length > 128) out.push({ field, description: `must be at most 128 characters, got ${length}` });
  else if (controlCharacters.test(name)) out.push({ field, description: "must not contain control characters" });
}

function checkTier(tier: string, field: string, out: Violation[]): void {
  if (!isTier(tier)) out.push({ field, description: `must be one of ${tiers.join(", ")}` });
}

function checkFuture(time: Timestamp | undefined, field: string, now: Date, out: Violation[]): void {
  if (time && timestampDate(time).getTime() <= now.getTime()) out.push({ field, description: "must be in the future" });
}

function throwIfAny(violations: Violation[]): void {
  if (violations.length > 0) throw invalidArgument(violations);
}

export function validateCreate(req: CreateKeyRequest, now: Date): void {
  const out: Violation[] = [];
  checkName(req.name, "name", out);
  if (req.tier !== "") checkTier(req.tier, "tier", out);
  checkFuture(req.expireTime, "expire_time", now, out);
  const entries = Object.entries(req.metadata);
  if (entries.length > maxMetadataEntries) out.push({ field: "metadata", description: `must have at most ${maxMetadataEntries} entries` });
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 64 || controlCharacters.test(key)) out.push({ field: `metadata[${JSON.stringify(key.slice(0, 64))}]`, description: "keys must be 1 to 64 printable characters" });
    if (value.length > 256) out.push({ field: `metadata[${JSON.stringify(key.slice(0, 64))}]`, description: "values must be at most 256 characters" });
  }
  throwIfAny(out);
}

export function validateList(req: ListKeysRequest): void {
  const out: Violation[] = [];
  if (req.pageSize < 0 || req.pageSize > 200) out.push({ field: "page_size", description: "must be between 1 and 200 (0 for the default 50)" });
  if (req.tier !== "") checkTier(req.tier, "tier", out);
  throwIfAny(out);
}

export function validateUpdate(req: UpdateKeyRequest): void {
  const out: Violation[] = [];
  if (req.name !== undefined) checkName(req.name, "name", out);
  if (req.tier !== undefined) checkTier(req.tier, "tier", out);
  throwIfAny(out);
}

export function validateRotate(req: RotateKeyRequest): void {
  const grace = req.gracePeriodSeconds;
  if (grace < 0n || grace > BigInt(maxGraceSeconds)) {
    throw invalidArgument([{ field: "grace_period_seconds", description: `must be between 0 and ${maxGraceSeconds} (30 days), got ${grace}` }]);
  }
}

export function validateTokens(tokens: bigint, field: string): number {
  if (tokens < 1n || tokens > 100_000n) throw invalidArgument([{ field, description: "must be between 1 and 100000" }]);
  return Number(tokens);
}
