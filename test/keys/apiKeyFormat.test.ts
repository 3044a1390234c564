// The key format alone: what the gateway can reject without a round trip.
import { expect, it } from "vitest";
import { apiKeyPrefix, generateApiKey, hashApiKey, isWellFormedApiKey, looksLikeApiKey } from "../../services/shared/apiKeyFormat.js";

it("mints distinct live and test keys that pass their own checksum", () => {
  const live = generateApiKey(false);
  const test = generateApiKey(true);
  expect(live).toMatch(/^sk_live_[0-9A-Za-z]{32}_[0-9A-Za-z]{6}$/);
  expect(test).toMatch(/^sk_test_/);
  expect(generateApiKey(false)).not.toBe(live);
  expect([live, test].every(isWellFormedApiKey)).toBe(true);
  expect(apiKeyPrefix(live)).toBe(live.slice(0, 12));
  expect(hashApiKey(live)).toMatch(/^[0-9a-f]{64}$/);
});

it("rejects every single-character typo, truncation and foreign shape", () => {
  const key = generateApiKey(false);
  for (let i = 8; i < key.length; i++) {
    if (key[i] === "_") continue;
    const typo = key.slice(0, i) + (key[i] === "a" ? "b" : "a") + key.slice(i + 1);
    expect(isWellFormedApiKey(typo), typo).toBe(false);
  }
  for (const bad of [key.slice(0, -1), `${key}0`, key.replace("sk_live_", "sk_prod_"), "", "sk_live_", `Bearer ${key}`]) {
    expect(isWellFormedApiKey(bad), bad).toBe(false);
  }
  expect(looksLikeApiKey("sk_live_nonsense")).toBe(true);
  expect(looksLikeApiKey("admin_secret")).toBe(false);
});
