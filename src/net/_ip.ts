/**
 * IP address parsing shared by the files of src/net: dotted IPv4 and every IPv6 spelling
 * (`::` shorthand, an IPv4 tail), with or without brackets and a zone index.
 *
 * @module
 */

/** A parsed IP address. */
export type IpAddress =
  | { family: 4; bytes: number[] }
  | { family: 6; groups: number[] };

/**
 * Parses an IP address as a transport or a user may write it.
 *
 * @param address `192.0.2.1`, `::1`, `[::1]`, `fe80::1%eth0`, `::ffff:127.0.0.1` …
 * @returns Its four bytes or eight 16-bit groups, or undefined when it is no IP address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIp } from "./_ip.ts";
 *
 * assert.deepEqual(parseIp("192.0.2.1"), { family: 4, bytes: [192, 0, 2, 1] });
 * assert.deepEqual(parseIp("[::ffff:127.0.0.1]"), {
 *   family: 6,
 *   groups: [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1],
 * });
 * assert.equal(parseIp("localhost"), undefined);
 * ```
 */
export function parseIp(address: string): IpAddress | undefined {
  let text = address.trim().toLowerCase();
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  // A zone index (fe80::1%eth0) names the interface, not the address.
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const bytes = parseIpv4(text);
  if (bytes !== undefined) return { family: 4, bytes };
  const groups = parseIpv6(text);
  return groups === undefined ? undefined : { family: 6, groups };
}

/**
 * Whether eight IPv6 groups are an IPv4-mapped address (`::ffff:a.b.c.d`), which is how a
 * socket listening on `::` reports an IPv4 peer.
 *
 * @param groups The eight groups.
 * @returns True when mapped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isIpv4Mapped } from "./_ip.ts";
 * assert.ok(isIpv4Mapped([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]));
 * assert.ok(!isIpv4Mapped([0, 0, 0, 0, 0, 0, 0, 1]));
 * ```
 */
export function isIpv4Mapped(groups: number[]): boolean {
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
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

/**
 * Writes an IP address the way people read it: dotted IPv4, and IPv6 in the RFC 5952 form
 * (lower case, the longest run of two or more zero groups as `::`).
 *
 * @param ip The parsed address.
 * @returns Its text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatIp, parseIp } from "./_ip.ts";
 * assert.equal(formatIp(parseIp("0:0:0:0:0:0:0:1")!), "::1");
 * assert.equal(formatIp(parseIp("2001:DB8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
 * assert.equal(formatIp(parseIp("127.000.0.1")!), "127.0.0.1");
 * ```
 */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return ip.bytes.join(".");
  let best = { start: -1, length: 1 };
  for (let start = 0; start < 8;) {
    let end = start;
    while (end < 8 && ip.groups[end] === 0) end++;
    if (end - start > best.length) best = { start, length: end - start };
    start = end === start ? start + 1 : end;
  }
  const hex = ip.groups.map((group) => group.toString(16));
  if (best.start < 0) return hex.join(":");
  const head = hex.slice(0, best.start).join(":");
  const tail = hex.slice(best.start + best.length).join(":");
  return `${head}::${tail}`;
}
