/**
 * The little of ASN.1 DER (ITU-T X.690) that X.509 certificates need: writing the types a
 * certificate is made of, and reading back a certificate's tree of tag-length-value items.
 *
 * @module
 */

/**
 * Tags used by certificates (universal class, and the constructed ones).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integer, readItems, sequence, Tag } from "./_der.ts";
 *
 * const [item] = readItems(sequence(integer(5)));
 * assert.equal(item.tag, Tag.SEQUENCE);
 * assert.equal(readItems(item.contents)[0].tag, Tag.INTEGER);
 * ```
 */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/**
 * One item: tag, length, contents.
 *
 * @param tag The tag byte.
 * @param contents The contents, concatenated.
 * @returns The encoding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tlv } from "./_der.ts";
 * assert.deepEqual(tlv(0x04, new Uint8Array([1, 2])), new Uint8Array([4, 2, 1, 2]));
 * assert.deepEqual(tlv(0x04, new Uint8Array(200)).subarray(0, 3), new Uint8Array([4, 0x81, 200]));
 * ```
 */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const length = contents.reduce((sum, part) => sum + part.length, 0);
  const header = [tag];
  if (length < 0x80) {
    header.push(length);
  } else {
    const bytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
    header.push(0x80 | bytes.length, ...bytes);
  }
  return concat(new Uint8Array(header), ...contents);
}

/**
 * A SEQUENCE of already encoded items.
 *
 * @param items The items.
 * @returns The encoding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sequence } from "./_der.ts";
 * assert.deepEqual(sequence(), new Uint8Array([0x30, 0]));
 * ```
 */
export function sequence(...items: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return tlv(Tag.SEQUENCE, ...items);
}

/**
 * An INTEGER from unsigned big-endian bytes or a small number: minimal, and positive (a
 * leading zero byte when the top bit is set).
 *
 * @param value The value.
 * @returns The encoding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integer } from "./_der.ts";
 * assert.deepEqual(integer(2), new Uint8Array([2, 1, 2]));
 * assert.deepEqual(integer(new Uint8Array([0, 0, 0x80])), new Uint8Array([2, 2, 0, 0x80]));
 * ```
 */
export function integer(value: number | Uint8Array): Uint8Array {
  let bytes = typeof value === "number" ? numberBytes(value) : value;
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0 || bytes[0] & 0x80) bytes = concat(new Uint8Array([0]), bytes);
  return tlv(Tag.INTEGER, bytes);
}

/**
 * An OBJECT IDENTIFIER from its dotted form.
 *
 * @param dotted `1.2.840.10045.4.3.2` …
 * @returns The encoding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oid } from "./_der.ts";
 * assert.deepEqual(oid("2.5.4.3"), new Uint8Array([6, 3, 0x55, 4, 3]));
 * ```
 */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const bytes: number[] = [];
  for (const arc of [arcs[0] * 40 + arcs[1], ...arcs.slice(2)]) {
    const base128 = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) {
      base128.unshift(0x80 | (rest & 0x7f));
    }
    bytes.push(...base128);
  }
  return tlv(Tag.OID, new Uint8Array(bytes));
}

/**
 * A BIT STRING of whole bytes (no unused bits), as keys and signatures are.
 *
 * @param bytes The bits.
 * @returns The encoding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bitString } from "./_der.ts";
 * assert.deepEqual(bitString(new Uint8Array([0xff])), new Uint8Array([3, 2, 0, 0xff]));
 * ```
 */
export function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(Tag.BIT_STRING, new Uint8Array([0]), bytes);
}

/**
 * A BIT STRING of named flags (bit 0 first), as keyUsage is: DER drops trailing zero bits.
 *
 * @param bits The numbers of the bits that are set.
 * @returns The encoding.
 *
 * @example keyCertSign (5) and cRLSign (6)
 * ```ts
 * import assert from "node:assert/strict";
 * import { namedBits } from "./_der.ts";
 * assert.deepEqual(namedBits([5, 6]), new Uint8Array([3, 2, 1, 0x06]));
 * assert.deepEqual(namedBits([0]), new Uint8Array([3, 2, 7, 0x80]));
 * ```
 */
export function namedBits(bits: number[]): Uint8Array {
  const last = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(last / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  return tlv(Tag.BIT_STRING, new Uint8Array([7 - (last & 7)]), bytes);
}

/**
 * A time as X.509 writes it: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280
 * §4.1.2.5), to the second, in UTC.
 *
 * @param date The time.
 * @returns The encoding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { time } from "./_der.ts";
 * const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes.subarray(2));
 * assert.equal(text(time(new Date("2026-11-29T01:02:03Z"))), "261129010203Z");
 * assert.equal(text(time(new Date("2050-01-01T00:00:00Z"))), "20500101000000Z");
 * ```
 */
export function time(date: Date): Uint8Array {
  const text = date.toISOString().replace(/[-:T]/g, "").replace(/\.\d+Z$/, "Z");
  const utc = date.getUTCFullYear() < 2050;
  return tlv(
    utc ? Tag.UTC_TIME : Tag.GENERALIZED_TIME,
    new TextEncoder().encode(utc ? text.slice(2) : text),
  );
}

/**
 * Concatenates byte arrays.
 *
 * @param parts The arrays.
 * @returns One array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concat } from "./_der.ts";
 * assert.deepEqual(concat(new Uint8Array([1]), new Uint8Array([2, 3])), new Uint8Array([1, 2, 3]));
 * ```
 */
export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** An item read back: its tag, its whole encoding and its contents. */
export interface DerItem {
  /** The tag byte. */
  tag: number;
  /** The whole item, header included. */
  bytes: Uint8Array;
  /** The contents. */
  contents: Uint8Array;
}

/**
 * Reads the items one after another in `bytes` (a constructed item's contents).
 *
 * @param bytes Encoded items.
 * @returns The items.
 * @throws Error when the encoding is cut short or uses a form DER does not allow.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integer, readItems, sequence } from "./_der.ts";
 * const [outer] = readItems(sequence(integer(1), integer(300)));
 * assert.equal(readItems(outer.contents).length, 2);
 * ```
 */
export function readItems(bytes: Uint8Array): DerItem[] {
  const items: DerItem[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const tag = bytes[offset];
    let length = bytes[offset + 1];
    let header = 2;
    if (length === undefined) throw new Error("Cannot read DER: an item is cut short");
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 4) throw new Error("Cannot read DER: unsupported length form");
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i];
      header += count;
    }
    const end = offset + header + length;
    if (end > bytes.length) throw new Error("Cannot read DER: an item is cut short");
    items.push({
      tag,
      bytes: bytes.subarray(offset, end),
      contents: bytes.subarray(offset + header, end),
    });
    offset = end;
  }
  return items;
}

function numberBytes(value: number): Uint8Array {
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return new Uint8Array(bytes);
}
