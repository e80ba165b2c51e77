/**
 * Whether a peer is this machine, whatever form its transport reports the address in.
 *
 * A server decides several things by it (clear-text passwords are accepted only from
 * loopback; loopback is exempt from the new-connection rate), so every spelling of loopback
 * must be recognised: `127.0.0.0/8`, `::1` in full or short form, IPv4-mapped IPv6
 * (`::ffff:127.0.0.1`, also in hex as `::ffff:7f00:1`), an address in brackets, and a peer
 * on a Unix socket. Nothing else is: a name such as `localhost` that only resolves to
 * loopback is not an address a socket reports, except from transports that use it for a
 * Unix-domain peer.
 *
 * @module
 */
import { isIpv4Mapped, parseIp } from "./_ip.ts";

/**
 * Whether an address is a loopback address of this machine.
 *
 * @param address An IP address as a transport reports it (`127.0.0.1`, `::1`,
 *   `::ffff:127.0.0.1`, `[::1]`), or `localhost` for a Unix-domain peer.
 * @returns True for loopback.
 *
 * @example Every loopback form, and a remote address
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLoopback } from "./loopback.ts";
 *
 * assert.ok(isLoopback("127.0.0.1"));
 * assert.ok(isLoopback("127.9.8.7"));
 * assert.ok(isLoopback("::1"));
 * assert.ok(isLoopback("0:0:0:0:0:0:0:1"));
 * assert.ok(isLoopback("::ffff:127.0.0.1"));
 * assert.ok(isLoopback("::ffff:7f00:1"));
 * assert.ok(isLoopback("[::1]"));
 * assert.ok(!isLoopback("192.0.2.1"));
 * assert.ok(!isLoopback("::ffff:192.0.2.1"));
 * assert.ok(!isLoopback("::2"));
 * ```
 */
export function isLoopback(address: string): boolean {
  if (address.trim().toLowerCase() === "localhost") return true;
  const ip = parseIp(address);
  if (ip === undefined) return false;
  if (ip.family === 4) return ip.bytes[0] === 127;
  const groups = ip.groups;
  // ::1
  if (groups.slice(0, 7).every((group) => group === 0) && groups[7] === 1) return true;
  // ::ffff:a.b.c.d (IPv4-mapped): loopback when a.b.c.d is.
  return isIpv4Mapped(groups) && groups[6] >> 8 === 127;
}
