/**
 * IRC over WebSocket (IRCv3 WebSocket support): one IRC line per frame, without line endings,
 * adapted to the chat server's {@link Connection} seam so browsers go through exactly the same
 * protocol code, limits and flood control as TCP clients. Both subprotocols are spoken:
 * `binary.ircv3.net` (the server sends binary frames) and `text.ircv3.net` (text frames, the
 * browser's choice); the client's order of preference picks one ({@link chooseSubprotocol}).
 * Whatever was chosen, the server reads both kinds of frame, as Ergo does: a text frame must be
 * UTF-8 (RFC 6455; else 1007), a binary frame's lines go to the session, which answers a line
 * that is not UTF-8 with `FAIL <command> INVALID_UTF8` and keeps the connection.
 *
 * The connection speaks RFC 6455 itself on the upgraded socket (frames in
 * `_websocket_frame.ts`). One read loop owns the socket's input: it reads a frame only when
 * the session has taken every line of the last message, so a client that sends faster than
 * its flood allowance is slowed by TCP, as on the plain IRC port; it answers pings, and runs
 * the close handshake. A message over `maxFrameBytes` (one frame, or the fragments of one
 * message together) is refused with 1009 from its frame header, before its payload is read.
 *
 * @module
 */
import type { Connection } from "../chat/connection.ts";
import { ByteReader } from "./_byte_reader.ts";
import {
  closeCode,
  encodeClose,
  encodeFrame,
  MAX_HEADER_BYTES,
  Opcode,
  readFrame,
  WebSocketCloseError,
} from "./_websocket_frame.ts";

/**
 * The WebSocket subprotocol for IRC lines as UTF-8 text frames.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IRC_SUBPROTOCOL } from "./websocket_connection.ts";
 *
 * assert.equal(IRC_SUBPROTOCOL, "text.ircv3.net");
 * ```
 */
export const IRC_SUBPROTOCOL = "text.ircv3.net";

/**
 * The WebSocket subprotocol for IRC lines as binary frames (any bytes; shmooze's are UTF-8).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IRC_BINARY_SUBPROTOCOL } from "./websocket_connection.ts";
 *
 * assert.equal(IRC_BINARY_SUBPROTOCOL, "binary.ircv3.net");
 * ```
 */
export const IRC_BINARY_SUBPROTOCOL = "binary.ircv3.net";

/**
 * The subprotocol to answer a WebSocket handshake with: the first the client offers of the two
 * IRC ones (the spec asks the server to respect the client's order of preference), or none
 * when it offers neither (the connection then speaks text frames).
 *
 * @param offered The `Sec-WebSocket-Protocol` tokens, in the client's order.
 * @returns The chosen subprotocol, or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseSubprotocol } from "./websocket_connection.ts";
 *
 * assert.equal(chooseSubprotocol(["binary.ircv3.net", "text.ircv3.net"]), "binary.ircv3.net");
 * assert.equal(chooseSubprotocol(["chat", "text.ircv3.net"]), "text.ircv3.net");
 * assert.equal(chooseSubprotocol(["chat"]), undefined);
 * ```
 */
export function chooseSubprotocol(offered: readonly string[]): string | undefined {
  return offered.find((name) => name === IRC_SUBPROTOCOL || name === IRC_BINARY_SUBPROTOCOL);
}

/** Limits for {@link WebSocketConnection}. */
export interface WebSocketLimits {
  /**
   * The largest message accepted, whether in one frame or in fragments; a bigger one closes
   * the socket with 1009 (message too big) before its payload is read. Lines a little over
   * the IRC limit still reach the server, which answers 417.
   * @default {16384}
   */
  maxFrameBytes?: number;
  /**
   * After the server sends its close frame, how long it waits for the client's before it
   * closes the socket; also the most a write may wait for a client that does not read once
   * the connection is closing.
   * @default {2000}
   */
  closeTimeoutMs?: number;
}

/** Options for {@link WebSocketConnection}. */
export interface WebSocketConnectionOptions {
  /** Bytes already read from the socket after the handshake (the first frames). */
  buffered?: Uint8Array;
  /** Limits. */
  limits?: WebSocketLimits;
  /** Whether the socket runs over TLS (WSS). @default {false} */
  secure?: boolean;
  /**
   * The subprotocol chosen at the handshake: the server sends binary frames for
   * `binary.ircv3.net`, text frames otherwise. @default {undefined}
   */
  subprotocol?: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** The most of a refused frame read (and dropped) to keep the close handshake clean. */
const MAX_SKIPPED_BYTES = 1024 * 1024;
const CR = 0x0d;
const LF = 0x0a;

/** A one-shot wake-up between the read loop and the reader of lines. */
class Signal {
  #wake: (() => void) | undefined;

  wait(): Promise<void> {
    return new Promise((resolve) => this.#wake = resolve);
  }

  notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * A WebSocket client (a browser, or any other) seen as a chat server connection.
 *
 * @example Adapt a socket after the web server has answered the handshake with 101
 * ```ts ignore
 * import { WebSocketConnection } from "./websocket_connection.ts";
 *
 * const connection = new WebSocketConnection(conn, "192.0.2.7", { buffered });
 * server.attach(connection);
 * ```
 */
export class WebSocketConnection implements Connection {
  /** Counted as `websocket` in the server's statistics. */
  readonly transport = "websocket";
  /** The peer's IP address. */
  readonly remoteAddress: string;
  /** True when the page was served over HTTPS (the socket is WSS). */
  readonly secure: boolean;
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void>;
  #conn: Deno.Conn;
  #reader: ByteReader;
  #maxMessage: number;
  #closeTimeoutMs: number;
  /** Lines of the last message not yet taken by {@link WebSocketConnection.lines}. */
  #lines: Uint8Array[] = [];
  #state: "open" | "closing" | "closed" = "open";
  #linesWanted = new Signal();
  #linesReady = new Signal();
  #writing: Promise<void> = Promise.resolve();
  #pongPending = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The opcode of the frames the server sends. */
  #sendOpcode: number;

  /**
   * Starts reading frames.
   *
   * @param conn The socket, after the server's 101 answer.
   * @param remoteAddress The peer's IP address.
   * @param options Bytes already read, limits, TLS.
   */
  constructor(conn: Deno.Conn, remoteAddress: string, options: WebSocketConnectionOptions = {}) {
    this.#conn = conn;
    this.remoteAddress = remoteAddress;
    this.secure = options.secure ?? false;
    this.#sendOpcode = options.subprotocol === IRC_BINARY_SUBPROTOCOL ? Opcode.binary : Opcode.text;
    this.#maxMessage = options.limits?.maxFrameBytes ?? 16384;
    this.#closeTimeoutMs = options.limits?.closeTimeoutMs ?? 2000;
    this.#reader = new ByteReader(conn, MAX_HEADER_BYTES + this.#maxMessage, options.buffered);
    this.closed = this.#readLoop();
  }

  /**
   * Incoming lines as UTF-8 bytes; a line longer than `maxBytes` is cut to `maxBytes + 1`
   * bytes so the server sees that it is too long.
   *
   * @param maxBytes The longest line the reader accepts.
   * @returns The lines, until the socket closes.
   */
  async *lines(maxBytes: number): AsyncIterable<Uint8Array> {
    while (true) {
      const line = this.#lines.shift();
      if (line !== undefined) {
        yield line.length > maxBytes ? line.subarray(0, maxBytes + 1) : line;
        continue;
      }
      if (this.#state !== "open") return;
      const ready = this.#linesReady.wait();
      this.#linesWanted.notify();
      await ready;
    }
  }

  /**
   * Sends each line as one frame (binary for `binary.ircv3.net`, else text), without its CR LF.
   *
   * @param chunks Encoded lines, each ending in CR LF; a chunk may hold several (a channel's
   *   lines of one tick, shared with every other client).
   * @returns Resolves once the frames are written to the socket; rejects when the socket is
   *   closed. A client that stops reading holds the write, so the server's send queue fills
   *   and drops it ("SendQ exceeded"), as on TCP.
   */
  write(chunks: Uint8Array[]): Promise<void> {
    if (this.#state !== "open") return Promise.reject(new Error("WebSocket is closed"));
    const frames: Uint8Array[] = [];
    let total = 0;
    for (const chunk of chunks) {
      for (const line of splitLines(chunk)) {
        const frame = encodeFrame(this.#sendOpcode, line);
        frames.push(frame);
        total += frame.length;
      }
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const frame of frames) {
      bytes.set(frame, offset);
      offset += frame.length;
    }
    return this.#send(bytes);
  }

  /**
   * Starts the close handshake: sends a close frame, then waits (at most `closeTimeoutMs`)
   * for the client's before closing the socket. Safe to call twice.
   *
   * @param code The close code. @default {1000}
   * @param reason Why.
   */
  close(code = 1000, reason = ""): void {
    if (this.#state !== "open") return;
    this.#state = "closing";
    this.#send(encodeClose(code, reason)).catch(() => {});
    this.#closeTimer = setTimeout(() => this.#shut(), this.#closeTimeoutMs);
    this.#linesReady.notify();
    this.#linesWanted.notify();
  }

  /**
   * Answers a ping. While an answer is still unsent (the client is not reading), further
   * pings get none (RFC 6455 allows answering only the latest), so they cannot pile up.
   */
  #pong(payload: Uint8Array): void {
    if (this.#state !== "open" || this.#pongPending) return;
    this.#pongPending = true;
    this.#send(encodeFrame(Opcode.pong, payload)).catch(() => {}).finally(() => {
      this.#pongPending = false;
    });
  }

  /** Writes bytes after every earlier write, so frames never interleave. */
  #send(bytes: Uint8Array): Promise<void> {
    const written = this.#writing.then(async () => {
      for (let done = 0; done < bytes.length;) {
        done += await this.#conn.write(bytes.subarray(done));
      }
    });
    this.#writing = written.catch(() => {});
    return written;
  }

  /**
   * The one reader of the socket: frames in, lines out, control frames answered, until the
   * close handshake ends or the socket fails.
   */
  async #readLoop(): Promise<void> {
    const fragments: Uint8Array[] = [];
    let fragmentBytes = 0;
    /** Whether the message being read came in a text frame, which must be UTF-8. */
    let text = false;
    try {
      while (true) {
        if (this.#state === "open" && this.#lines.length > 0) {
          await this.#linesWanted.wait();
          continue;
        }
        const frame = await readFrame(this.#reader, this.#maxMessage - fragmentBytes);
        if (frame === undefined) return;
        if (frame.opcode === Opcode.ping) {
          this.#pong(frame.payload);
          continue;
        }
        if (frame.opcode === Opcode.pong) continue;
        if (frame.opcode === Opcode.close) {
          // The client started the handshake: answer with its code, then close the TCP
          // connection (the client waits for the server to).
          this.close(closeCode(frame.payload) ?? 1000);
          await this.#writing;
          return;
        }
        if (this.#state !== "open") continue;
        if ((frame.opcode === Opcode.continuation) !== (fragments.length > 0)) {
          throw new WebSocketCloseError(1002, "Fragments out of order", 0);
        }
        if (frame.opcode !== Opcode.continuation) text = frame.opcode === Opcode.text;
        fragments.push(frame.payload);
        fragmentBytes += frame.payload.length;
        if (!frame.fin) continue;
        const message = fragments.length === 1 ? fragments[0] : joinBytes(fragments);
        fragments.length = 0;
        fragmentBytes = 0;
        if (text) {
          try {
            utf8.decode(message);
          } catch {
            throw new WebSocketCloseError(1007, "Text frames must be UTF-8", 0);
          }
        }
        this.#lines.push(...splitLines(message));
        this.#linesReady.notify();
      }
    } catch (error) {
      // A read error (a reset, the close timer) just ends the connection.
      if (error instanceof WebSocketCloseError) await this.#refuse(error);
    } finally {
      this.#shut();
    }
  }

  /**
   * Closes for a bad frame. Back at a frame boundary the client's close frame can be waited
   * for, so a client that sent a little too much reads the 1009 rather than a reset; a frame
   * announced far past the limit is not read through: the socket is closed once the close
   * frame is written.
   */
  async #refuse(error: WebSocketCloseError): Promise<void> {
    this.close(error.code, error.message);
    const unread = error.unread;
    try {
      if (unread !== undefined && unread <= MAX_SKIPPED_BYTES) {
        if (!(await this.#reader.skip(unread))) return;
        while (true) {
          const frame = await readFrame(this.#reader, this.#maxMessage);
          if (frame === undefined || frame.opcode === Opcode.close) return;
        }
      }
      await this.#writing;
    } catch {
      // Whatever a client being refused sends next (or the close timer) ends the wait.
    }
  }

  /** Closes the socket and ends the lines; safe to call twice. */
  #shut(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#closeTimer);
    this.#lines = [];
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.#linesReady.notify();
    this.#linesWanted.notify();
  }
}

/** The non-empty lines of a message, split at CR, LF or CR LF, as views into it. */
function splitLines(message: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= message.length; i++) {
    if (i === message.length || message[i] === CR || message[i] === LF) {
      if (i > start) lines.push(message.subarray(start, i));
      start = i + 1;
    }
  }
  return lines;
}

function joinBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
