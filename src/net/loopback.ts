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
  let text = address.trim().toLowerCase();
  if (text === "localhost") return true;
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  // A zone index (fe80::1%eth0) never belongs to loopback, but must not confuse parsing.
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return v4[0] === 127;
  const v6 = parseIpv6(text);
  if (v6 === undefined) return false;
  // ::1
  if (v6.slice(0, 7).every((group) => group === 0) && v6[7] === 1) return true;
  // ::ffff:a.b.c.d (IPv4-mapped): loopback when a.b.c.d is.
  if (v6.slice(0, 5).every((group) => group === 0) && v6[5] === 0xffff) {
    return v6[6] >> 8 === 127;
  }
  return false;
}

/** The four bytes of a dotted IPv4 address, or undefined when `text` is not one. */
function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((part) => /^\d{1,3}$/.test(part) ? Number(part) : NaN);
  return bytes.every((byte) => byte <= 255) ? bytes : undefined;
}

/** The eight 16-bit groups of an IPv6 address, or undefined when `text` is not one. */
function parseIpv6(text: string): number[] | undefined {
  if (!text.includes(":")) return undefined;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  const v4 = parseIpv4(text.slice(lastColon + 1));
  if (v4 !== undefined) {
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    text = text.slice(0, lastColon + 1) + "0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string) => half === "" ? [] : half.split(":");
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  if (!head.concat(rest).every((group) => /^[0-9a-f]{1,4}$/.test(group))) return undefined;
  const wanted = 8 - (tail.length > 0 ? 1 : 0);
  const missing = wanted - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const parsed = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest]
    .map((group) => parseInt(group, 16));
  // The "0" put in place of a dotted tail is replaced by its two groups.
  return tail.length > 0 ? [...parsed.slice(0, 6), ...tail] : parsed;
}
