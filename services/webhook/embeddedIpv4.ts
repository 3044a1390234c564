// IPv6 forms that carry an IPv4 address, so the SSRF guard can judge the IPv4
// a packet would really reach: ipaddr.js calls ::7f00:1 (IPv4-compatible
// 127.0.0.1) "unicast", and NAT64, 6to4 and Teredo addresses are only as safe
// as the IPv4 inside them.
//
// Every form is judged by its embedded IPv4, so a public one may pass (DNS64
// in an IPv6-only cluster hands out 64:ff9b::/96 for IPv4-only receivers).
// Not listed, so refused as non-unicast whatever they hold: the local-use NAT64
// prefix 64:ff9b:1::/48 (RFC 8215), whose operator chooses where the IPv4 sits,
// and SIIT's ::ffff:0:0:0/96 (RFC 6145).
import ipaddr from "ipaddr.js";

interface Form {
  prefix: [ipaddr.IPv6, number];
  /** The IPv4 addresses in the address's 16 bytes. */
  ipv4s(bytes: number[]): number[][];
}

const last32 = (bytes: number[]) => [bytes.slice(12)];

const forms: Form[] = [
  // IPv4-mapped (RFC 4291): what a dual-stack socket reports for an IPv4 peer.
  { prefix: ipaddr.IPv6.parseCIDR("::ffff:0:0/96"), ipv4s: last32 },
  // IPv4-compatible (RFC 4291, deprecated); :: and ::1 land in 0.0.0.0/8, which is refused.
  { prefix: ipaddr.IPv6.parseCIDR("::/96"), ipv4s: last32 },
  // NAT64 well-known prefix (RFC 6052).
  { prefix: ipaddr.IPv6.parseCIDR("64:ff9b::/96"), ipv4s: last32 },
  // 6to4 (RFC 3056): the site's IPv4 in bits 16–47.
  { prefix: ipaddr.IPv6.parseCIDR("2002::/16"), ipv4s: (b) => [b.slice(2, 6)] },
  // Teredo (RFC 4380): the server's IPv4 in bits 32–63, the client's in the last 32 bits, inverted.
  { prefix: ipaddr.IPv6.parseCIDR("2001::/32"), ipv4s: (b) => [b.slice(4, 8), b.slice(12).map((x) => x ^ 0xff)] },
];

/** The IPv4 addresses an IPv6 address embeds, or undefined when it is none of the forms above. */
export function embeddedIpv4s(address: ipaddr.IPv6): ipaddr.IPv4[] | undefined {
  const form = forms.find((f) => address.match(f.prefix));
  return form?.ipv4s(address.toByteArray()).map((octets) => new ipaddr.IPv4(octets));
}
