/**
 * The name a per-address limit counts a peer under. One machine must have one name however
 * the transport spells its address, and one attacker must not get a fresh allowance per
 * address when it holds a whole block of them.
 *
 * - IPv4 is itself (`192.0.2.1`).
 * - IPv4-mapped IPv6 (`::ffff:192.0.2.1`, how a server listening on `::` sees an IPv4 peer)
 *   is the IPv4 address, so the same host counts once on an IPv4 and a dual-stack listener.
 * - Any other IPv6 address counts under its /64 (`2001:db8:1:2::/64`): a /64 is the
 *   smallest block an ISP assigns to one subscriber, and any host in it can pick any of its
 *   2^64 addresses. `::1` stays `::1`.
 * - Anything else (`localhost` for a Unix-domain peer) is kept as it is.
 *
 * @module
 */
import { isIpv4Mapped, parseIp } from "./_ip.ts";

/**
 * The key a peer's address is counted under by per-address limits.
 *
 * @param address An address as a transport reports it.
 * @returns Its key.
 *
 * @example One host, one key; one /64, one key
 * ```ts
 * import assert from "node:assert/strict";
 * import { addressKey } from "./address_key.ts";
 *
 * assert.equal(addressKey("192.0.2.7"), "192.0.2.7");
 * assert.equal(addressKey("::ffff:192.0.2.7"), "192.0.2.7");
 * assert.equal(addressKey("0::ffff:c000:207"), "192.0.2.7");
 * assert.equal(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
 * assert.equal(addressKey("[2001:DB8:1:2:bbbb::9]"), "2001:db8:1:2::/64");
 * assert.equal(addressKey("::1"), "::1");
 * assert.equal(addressKey("localhost"), "localhost");
 * ```
 */
export function addressKey(address: string): string {
  const ip = parseIp(address);
  if (ip === undefined) return address;
  if (ip.family === 4) return ip.bytes.join(".");
  const groups = ip.groups;
  if (isIpv4Mapped(groups)) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join(".");
  }
  if (groups.slice(0, 7).every((group) => group === 0) && groups[7] === 1) return "::1";
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(":")}::/64`;
}
