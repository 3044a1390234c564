// SSRF guard for receiver URLs (DESIGN.md, "Bad input"): HTTPS only and public
// addresses only, unless ONERING_WEBHOOKS_ALLOW_PRIVATE_URLS. Checked when a
// webhook is saved and again at delivery time inside the socket's DNS
// lookup, so a name re-pointed to 127.0.0.1 (DNS rebinding) is refused.
import ipaddr from "ipaddr.js";
import dns from "node:dns";
import type { LookupFunction } from "node:net";
import type { Violation } from "../shared/errors.js";
import { embeddedIpv4s } from "./embeddedIpv4.js";

const maxUrlLength = 2048;

/**
 * Only globally routable unicast: no loopback, private, link-local (cloud metadata), CGNAT, multicast or reserved.
 * An IPv6 address that embeds IPv4 (mapped, compatible, NAT64, 6to4, Teredo) is judged by every IPv4 it embeds.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  const embedded = parsed.kind() === "ipv6" ? embeddedIpv4s(parsed as ipaddr.IPv6) : undefined;
  return embedded ? embedded.every((ipv4) => ipv4.range() === "unicast") : parsed.range() === "unicast";
}

function literalHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/** Protocol and literal-address checks that need no DNS; the reason it is refused, or undefined. */
export function refuseUrl(url: URL, allowPrivate: boolean): string | undefined {
  if (url.protocol !== "https:" && !(allowPrivate && url.protocol === "http:")) return "must be an https:// URL";
  if (url.username || url.password) return "must not carry credentials";
  const host = literalHost(url);
  if (!allowPrivate && (host === "localhost" || host.endsWith(".localhost"))) return "must not point at a loopback, private, link-local or metadata address";
  if (!allowPrivate && ipaddr.isValid(host) && !isPublicAddress(host)) return "must not point at a loopback, private, link-local or metadata address";
  return undefined;
}

/** Validates a receiver URL when a webhook is saved, resolving its host. */
export async function validateReceiverUrl(raw: string, allowPrivate: boolean, field = "url"): Promise<Violation[]> {
  if (raw.length === 0) return [{ field, description: "is required" }];
  if (raw.length > maxUrlLength) return [{ field, description: `must be at most ${maxUrlLength} characters` }];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [{ field, description: "must be an absolute URL" }];
  }
  const refused = refuseUrl(url, allowPrivate);
  if (refused) return [{ field, description: refused }];
  if (allowPrivate || ipaddr.isValid(literalHost(url))) return [];
  try {
    const addresses = await dns.promises.lookup(url.hostname, { all: true });
    if (addresses.some((a) => !isPublicAddress(a.address))) {
      return [{ field, description: "resolves to a loopback, private, link-local or metadata address" }];
    }
  } catch {
    return [{ field, description: "host does not resolve" }];
  }
  return [];
}

/** A net.connect lookup that refuses non-public addresses, for the delivery agent. */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const list = addresses as dns.LookupAddress[];
      if (!allowPrivate && list.some((a) => !isPublicAddress(a.address))) {
        const refused = Object.assign(new Error(`${hostname} resolves to a non-public address`), { code: "EADDRNOTPUBLIC" });
        return callback(refused, "", 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
