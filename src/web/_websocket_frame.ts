/**
 * RFC 6455 on the wire: the handshake's accept key, and frames.
 *
 * A frame is a 2-byte header (FIN, three reserved bits, the opcode; the MASK bit and a 7-bit
 * length), then 2 or 8 more length bytes when the length is 126 or 127, then a 4-byte mask
 * key (client frames must be masked), then the payload XORed with the key. The reader looks
 * at the header first and refuses a frame whose length is over the limit before reading a
 * byte of its payload, so a peer that announces a 63 MiB frame costs the server 14 bytes of
 * buffer, not 63 MiB.
 *
 * @module
 */
import type { ByteReader } from "./_byte_reader.ts";

/** Frame opcodes (RFC 6455 section 5.2). */
export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** The largest payload of a control frame (close, ping, pong). */
const MAX_CONTROL_PAYLOAD = 125;
/** The largest header: 2 bytes, an 8-byte length, a 4-byte mask key. */
export const MAX_HEADER_BYTES = 14;
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();

/** One frame as read, payload unmasked. */
export interface Frame {
  /** Whether this is the message's last frame. */
  fin: boolean;
  /** See {@link Opcode}. */
  opcode: number;
  /** The payload. */
  payload: Uint8Array;
}

/**
 * A reason to close the connection with a status code (RFC 6455 section 7.4).
 * `unread` tells how far the byte stream is from the next frame: 0 at a frame boundary,
 * the refused frame's payload length after a 1009, undefined when the stream cannot be
 * trusted (a protocol error). Only back at a frame boundary can the close handshake wait for
 * the peer's own close frame.
 */
export class WebSocketCloseError extends Error {
  /** The close code: 1002 protocol error, 1003 unsupported data, 1007 bad UTF-8, 1009 too big. */
  readonly code: number;
  /** Bytes to skip to reach the next frame, or undefined when there is no telling. */
  readonly unread: number | undefined;

  /**
   * @param code The close code.
   * @param reason The close reason (at most 123 bytes of UTF-8).
   * @param unread Bytes to skip to reach the next frame; undefined when unknown.
   */
  constructor(code: number, reason: string, unread: number | undefined) {
    super(reason);
    this.name = "WebSocketCloseError";
    this.code = code;
    this.unread = unread;
  }
}

/**
 * The `Sec-WebSocket-Accept` value for a handshake's `Sec-WebSocket-Key`.
 *
 * @param key The client's key.
 * @returns base64(SHA-1(key + the RFC's GUID)).
 *
 * @example The RFC's own example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acceptKey } from "./_websocket_frame.ts";
 *
 * assert.equal(await acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
 * ```
 */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/**
 * Reads one client frame.
 *
 * @param reader The connection's reader; its capacity must hold a header and `maxPayload`.
 * @param maxPayload The largest data payload accepted now (what is left of the message cap).
 * @returns The frame, or undefined when the stream ended.
 * @throws WebSocketCloseError 1009 when the payload is over `maxPayload` (nothing of it
 *   read), 1002 for an unmasked frame, reserved bits, an unknown opcode or a bad control frame.
 */
export async function readFrame(
  reader: ByteReader,
  maxPayload: number,
): Promise<Frame | undefined> {
  if (!(await reader.need(2))) return undefined;
  let bytes = reader.buffered;
  const fin = (bytes[0] & 0x80) !== 0;
  const opcode = bytes[0] & 0x0f;
  const masked = (bytes[1] & 0x80) !== 0;
  let length = bytes[1] & 0x7f;
  const control = opcode >= Opcode.close;
  if ((bytes[0] & 0x70) !== 0) throw protocolError("Reserved bits are set");
  if (!masked) throw protocolError("Client frames must be masked");
  if (!(Object.values(Opcode) as number[]).includes(opcode)) {
    throw protocolError(`Unknown opcode ${opcode}`);
  }
  if (control && (!fin || length > MAX_CONTROL_PAYLOAD)) {
    throw protocolError("Control frames must be whole and at most 125 bytes");
  }
  let offset = 2;
  if (length === 126) {
    if (!(await reader.need(4))) return undefined;
    bytes = reader.buffered;
    length = (bytes[2] << 8) | bytes[3];
    offset = 4;
  } else if (length === 127) {
    if (!(await reader.need(10))) return undefined;
    bytes = reader.buffered;
    const view = new DataView(bytes.buffer, bytes.byteOffset, 10);
    // The high half of a 64-bit length: anything there is far past every limit.
    length = view.getUint32(2) === 0 ? view.getUint32(6) : Number.MAX_SAFE_INTEGER;
    offset = 10;
  }
  const limit = control ? MAX_CONTROL_PAYLOAD : maxPayload;
  if (length > limit) {
    // What follows the header (mask key and payload) is left unread, to be skipped or not.
    reader.consume(offset);
    throw new WebSocketCloseError(1009, "Message too big", 4 + length);
  }
  if (!(await reader.need(offset + 4 + length))) return undefined;
  bytes = reader.buffered;
  const mask = bytes.subarray(offset, offset + 4);
  const payload = bytes.slice(offset + 4, offset + 4 + length);
  for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
  reader.consume(offset + 4 + length);
  return { fin, opcode, payload };
}

function protocolError(reason: string): WebSocketCloseError {
  return new WebSocketCloseError(1002, reason, undefined);
}

/**
 * Encodes one unmasked (server) frame with FIN set.
 *
 * @param opcode See {@link Opcode}.
 * @param payload The payload.
 * @returns The frame.
 *
 * @example A text frame, as in RFC 6455 section 5.7
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame, Opcode } from "./_websocket_frame.ts";
 *
 * const frame = encodeFrame(Opcode.text, new TextEncoder().encode("Hello"));
 * assert.deepEqual([...frame], [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
 * ```
 */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const header = payload.length < 126 ? 2 : payload.length < 65536 ? 4 : 10;
  const frame = new Uint8Array(header + payload.length);
  frame[0] = 0x80 | opcode;
  if (header === 2) {
    frame[1] = payload.length;
  } else if (header === 4) {
    frame[1] = 126;
    frame[2] = payload.length >> 8;
    frame[3] = payload.length & 0xff;
  } else {
    frame[1] = 127;
    new DataView(frame.buffer).setBigUint64(2, BigInt(payload.length));
  }
  frame.set(payload, header);
  return frame;
}

/**
 * Encodes a close frame.
 *
 * @param code The status code.
 * @param reason Why, cut to fit a control frame.
 * @returns The frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeClose } from "./_websocket_frame.ts";
 *
 * assert.deepEqual([...encodeClose(1009, "")], [0x88, 0x02, 0x03, 0xf1]);
 * ```
 */
export function encodeClose(code: number, reason: string): Uint8Array {
  let text = encoder.encode(reason);
  // Cut at a character boundary: the reason must stay valid UTF-8.
  while (text.length > MAX_CONTROL_PAYLOAD - 2) {
    reason = reason.slice(0, -1);
    text = encoder.encode(reason);
  }
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return encodeFrame(Opcode.close, payload);
}

/**
 * The status code in a close frame's payload, checked.
 *
 * @param payload The close frame's payload.
 * @returns The code, or undefined when the payload is empty (no code given).
 * @throws WebSocketCloseError 1002 for a one-byte payload or a code no endpoint may send,
 *   1007 for a reason that is not UTF-8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closeCode } from "./_websocket_frame.ts";
 *
 * assert.equal(closeCode(new Uint8Array([0x03, 0xe8])), 1000);
 * assert.equal(closeCode(new Uint8Array()), undefined);
 * assert.throws(() => closeCode(new Uint8Array([0x03, 0xed])), /1005/);
 * ```
 */
export function closeCode(payload: Uint8Array): number | undefined {
  if (payload.length === 0) return undefined;
  if (payload.length === 1) throw new WebSocketCloseError(1002, "Close payload of 1 byte", 0);
  const code = (payload[0] << 8) | payload[1];
  const sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
  if (!sendable) throw new WebSocketCloseError(1002, `Close code ${code} cannot be sent`, 0);
  try {
    utf8.decode(payload.subarray(2));
  } catch {
    throw new WebSocketCloseError(1007, "Close reason is not UTF-8", 0);
  }
  return code;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
