// Unit tests of the SSRF guard's address rules, including every IPv6 form that
// embeds an IPv4 address, at both places the guard runs: when a webhook
// is saved (refuseUrl for literal hosts) and inside the delivery agent's DNS
// lookup (guardedLookup).
import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import { guardedLookup, isPublicAddress, refuseUrl } from "../../services/webhook/urlGuard.js";

describe("isPublicAddress", () => {
  it.each([
    ["8.8.8.8", true],
    ["2606:4700:4700::1111", true],
    ["127.0.0.1", false],
    ["10.0.0.1", false],
    ["172.16.5.4", false],
    ["192.168.1.1", false],
    ["169.254.169.254", false],
    ["100.64.1.1", false],
    ["0.0.0.0", false],
    ["::1", false],
    ["::", false],
    ["fe80::1", false],
    ["fd00:ec2::254", false],
    ["not-an-ip", false],
  ])("%s → %s", (address, expected) => expect(isPublicAddress(address)).toBe(expected));
});

// [form, address, embedded IPv4s, public?]
const embedded: Array<[string, string, string, boolean]> = [
  ["IPv4-mapped", "::ffff:10.0.0.1", "10.0.0.1", false],
  ["IPv4-mapped", "::ffff:7f00:1", "127.0.0.1", false],
  ["IPv4-mapped", "::ffff:8.8.8.8", "8.8.8.8", true],
  ["IPv4-compatible", "::7f00:1", "127.0.0.1", false],
  ["IPv4-compatible", "::127.0.0.1", "127.0.0.1", false],
  ["IPv4-compatible", "::a9fe:a9fe", "169.254.169.254", false],
  ["IPv4-compatible", "::a00:1", "10.0.0.1", false],
  ["IPv4-compatible", "::808:808", "8.8.8.8", true],
  ["NAT64", "64:ff9b::7f00:1", "127.0.0.1", false],
  ["NAT64", "64:ff9b::169.254.169.254", "169.254.169.254", false],
  ["NAT64", "64:ff9b::c0a8:1", "192.168.0.1", false],
  ["NAT64", "64:ff9b::808:808", "8.8.8.8", true],
  ["NAT64 local-use (IPv4 position is the operator's choice)", "64:ff9b:1::808:808", "unknown", false],
  ["6to4", "2002:7f00:1::1", "127.0.0.1", false],
  ["6to4", "2002:a9fe:a9fe::1", "169.254.169.254", false],
  ["6to4", "2002:a00:1::1", "10.0.0.1", false],
  ["6to4", "2002:808:808::1", "8.8.8.8", true],
  ["Teredo", "2001:0:4136:e378:8000:63bf:80ff:fffe", "server 65.54.227.120, client 127.0.0.1", false],
  ["Teredo", "2001:0:4136:e378:8000:63bf:5601:5601", "server 65.54.227.120, client 169.254.169.254", false],
  ["Teredo", "2001:0:a00:1:8000:63bf:f7f7:f7f7", "server 10.0.0.1, client 8.8.8.8", false],
  ["Teredo", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", "server 65.54.227.120, client 8.8.8.8", true],
];

describe("IPv6 addresses embedding IPv4 are judged by the IPv4", () => {
  it.each(embedded)("%s %s (%s) → public %s", (_form, address, _ipv4, expected) => expect(isPublicAddress(address)).toBe(expected));

  it.each(embedded)("%s https://[%s]/ (%s) is refused unless public (%s) when saved", (_form, address, _ipv4, expected) => {
    const refused = refuseUrl(new URL(`https://[${address}]/latest/meta-data/`), false);
    expect(refused === undefined).toBe(expected);
    if (!expected) expect(refused).toContain("address");
  });

  it.each(embedded)("%s %s (%s) is refused unless public (%s) by the delivery lookup", async (_form, address, _ipv4, expected) => {
    const result = await new Promise<NodeJS.ErrnoException | LookupAddress[]>((resolve) =>
      guardedLookup(false)(address, { all: true }, (err, addresses) => resolve(err ?? (addresses as unknown as LookupAddress[]))),
    );
    if (expected) expect(result).toEqual([{ address: expect.any(String), family: 6 }]);
    else expect((result as NodeJS.ErrnoException).code).toBe("EADDRNOTPUBLIC");
  });

  it("allows them all with ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS", () => {
    for (const [, address] of embedded) expect(refuseUrl(new URL(`https://[${address}]/`), true)).toBeUndefined();
  });
});

it.each(["https://[::127.0.0.1]/", "https://[::169.254.169.254]/latest/meta-data/", "https://[::10.0.0.1]/", "https://[::7f00:1]/"])(
  "refuses %s, as reported in issue 18",
  (url) => expect(refuseUrl(new URL(url), false)).toContain("address"),
);
