/**
 * IRC over WebSocket (the IRCv3 `text.ircv3.net` subprotocol): one IRC line per text frame,
 * without line endings, adapted to the chat server's {@link Connection} seam so browsers go
 * through exactly the same protocol code, limits and flood control as TCP clients.
 *
 * @module
 */
import type { Connection } from "../chat/connection.ts";

/** The WebSocket subprotocol for IRC lines as UTF-8 text frames. */
export const IRC_SUBPROTOCOL = "text.ircv3.net";

/** Limits for {@link WebSocketConnection}. */
export interface WebSocketLimits {
  /**
   * The largest frame accepted; a bigger one closes the socket with 1009 (message too big).
   * Lines a little over the IRC limit still reach the server, which answers 417.
   * @default {16384}
   */
  maxFrameBytes?: number;
  /**
   * How many bytes of received lines may wait for the server to read them; a client that
   * sends faster than its flood allowance lets it be read is closed with 1008.
   * @default {65536}
   */
  maxPendingBytes?: number;
  /**
   * How many bytes may sit unsent in the socket's own buffer; past it the peer counts as
   * not reading and the server's write fails (the server then drops it as stuck).
   * @default {1048576}
   */
  maxBufferedBytes?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 0x0d;
const LF = 0x0a;

/**
 * A browser (or any WebSocket client) seen as a chat server connection.
 *
 * @example Adapt an upgraded request
 * ```ts ignore
 * import { IRC_SUBPROTOCOL, WebSocketConnection } from "./websocket_connection.ts";
 *
 * Deno.serve((request, info) => {
 *   const { socket, response } = Deno.upgradeWebSocket(request, { protocol: IRC_SUBPROTOCOL });
 *   const connection = new WebSocketConnection(socket, info.remoteAddr.hostname);
 *   server.attach(connection);
 *   return response;
 * });
 * ```
 */
export class WebSocketConnection implements Connection {
  /** Counted as `websocket` in the server's statistics. */
  readonly transport = "websocket";
  /** The peer's IP address. */
  readonly remoteAddress: string;
  /** True when the page was served over HTTPS (the socket is WSS). */
  readonly secure: boolean;
  #socket: WebSocket;
  #maxFrame: number;
  #maxPending: number;
  #maxBuffered: number;
  #pending: string[] = [];
  #pendingBytes = 0;
  #ended = false;
  #wake: (() => void) | undefined;
  #opened: Promise<void>;

  /**
   * @param socket The server side of an upgraded WebSocket (it may still be connecting).
   * @param remoteAddress The peer's IP address.
   * @param limits Size limits.
   * @param secure Whether the socket runs over TLS.
   */
  constructor(
    socket: WebSocket,
    remoteAddress: string,
    limits: WebSocketLimits = {},
    secure = false,
  ) {
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    this.secure = secure;
    this.#maxFrame = limits.maxFrameBytes ?? 16384;
    this.#maxPending = limits.maxPendingBytes ?? 65536;
    this.#maxBuffered = limits.maxBufferedBytes ?? 1048576;
    this.#opened = new Promise((resolve) => {
      if (socket.readyState === WebSocket.OPEN) resolve();
      else socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("close", () => resolve(), { once: true });
    });
    socket.addEventListener("message", (event) => this.#receive(event.data));
    socket.addEventListener("close", () => this.#end());
    socket.addEventListener("error", () => this.#end());
  }

  #receive(data: unknown): void {
    if (typeof data !== "string") {
      this.#closeWith(1003, "Only text frames carry IRC lines");
      return;
    }
    // Counted in UTF-16 units first: cheap, and never smaller than a quarter of the bytes.
    if (data.length > this.#maxFrame || encoder.encode(data).length > this.#maxFrame) {
      this.#closeWith(1009, "Frame too big");
      return;
    }
    // One line per frame; a frame that smuggles in more lines is split, so no line ending
    // ever reaches the protocol code inside a parameter.
    for (const line of data.split(/\r?\n|\r/)) {
      if (line === "") continue;
      this.#pending.push(line);
      this.#pendingBytes += line.length;
    }
    if (this.#pendingBytes > this.#maxPending) {
      this.#closeWith(1008, "Excess flood");
      return;
    }
    this.#wake?.();
  }

  #closeWith(code: number, reason: string): void {
    try {
      this.#socket.close(code, reason);
    } catch { /* already closing */ }
    this.#end();
  }

  #end(): void {
    this.#ended = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#wake?.();
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
      const line = this.#pending.shift();
      if (line !== undefined) {
        this.#pendingBytes -= line.length;
        const bytes = encoder.encode(line);
        yield bytes.length > maxBytes ? bytes.subarray(0, maxBytes + 1) : bytes;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }

  /**
   * Sends each line as one text frame, without its CR LF.
   *
   * @param chunks Encoded lines, each ending in CR LF; a chunk may hold several (a channel's
   *   lines of one tick, shared with every other client).
   * @returns Resolves once the frames are handed to the socket; rejects when the socket is
   *   closed or its peer has stopped reading.
   */
  async write(chunks: Uint8Array[]): Promise<void> {
    await this.#opened;
    if (this.#socket.readyState !== WebSocket.OPEN) throw new Error("WebSocket is closed");
    for (const chunk of chunks) {
      for (let start = 0; start < chunk.length;) {
        let end = chunk.indexOf(LF, start);
        if (end < 0) end = chunk.length;
        const next = end + 1;
        if (chunk[end - 1] === CR) end--;
        if (end > start) this.#socket.send(decoder.decode(chunk.subarray(start, end)));
        start = next;
      }
    }
    if (this.#socket.bufferedAmount > this.#maxBuffered) {
      this.#closeWith(1008, "Not reading");
      throw new Error("WebSocket peer is not reading");
    }
  }

  /** Closes the socket (normal closure); safe to call twice. */
  close(): void {
    this.#closeWith(1000, "");
  }
}
