// API key format, shared by KeyService (which mints keys) and the gateway
// (which rejects typos before any round trip): `sk_live_<body>_<checksum>`,
// a base62 body and a CRC32 checksum, so secret scanners can recognise leaks
// and a mistyped key never reaches the database.
import { hash, randomInt } from "node:crypto";
import { crc32 } from "node:zlib";

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const bodyLength = 32;
const checksumLength = 6;
const shape = new RegExp(`^(sk_(?:live|test)_[0-9A-Za-z]{${bodyLength}})_([0-9A-Za-z]{${checksumLength}})$`);

/** The longest string that can be a well-formed key; longer input is rejected unread. */
export const maxKeyLength = "sk_live_".length + bodyLength + 1 + checksumLength;

function checksum(payload: string): string {
  let n = crc32(payload);
  let out = "";
  for (let i = 0; i < checksumLength; i++) {
    out = alphabet[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A new random secret; 32 base62 characters carry about 190 bits. */
export function generateApiKey(testMode: boolean): string {
  let body = "";
  for (let i = 0; i < bodyLength; i++) body += alphabet[randomInt(62)];
  const payload = `sk_${testMode ? "test" : "live"}_${body}`;
  return `${payload}_${checksum(payload)}`;
}

/** Whether a string has the key shape and a matching checksum (no I/O). */
export function isWellFormedApiKey(candidate: string): boolean {
  if (candidate.length !== maxKeyLength) return false;
  const match = shape.exec(candidate);
  return match !== null && checksum(match[1]!) === match[2];
}

/** Whether a credential is meant to be an API key at all (even a broken one). */
export function looksLikeApiKey(candidate: string): boolean {
  return candidate.startsWith("sk_live_") || candidate.startsWith("sk_test_");
}

/** The non-secret start shown in lists: `sk_live_` plus four characters. */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, "sk_live_".length + 4);
}

/** What is stored and looked up instead of the secret. */
export function hashApiKey(key: string): string {
  return hash("sha256", key, "hex");
}
