/**
 * The chat page's WebSocket to the server (IRC, subprotocol `text.ircv3.net`, one line per
 * text frame), opened again with backoff whenever it drops until the page stops it.
 *
 * @module
 */

/** What the socket tells the page. */
export interface SocketEvents {
  /** Open: time to register. */
  open(): void;
  /** One IRC line from the server, without CR LF. */
  line(line: string): void;
  /** The connection dropped (not stopped by the page); a retry follows unless stopped. */
  dropped(): void;
  /**
   * How the connection is, for the status line.
   *
   * @param text What to say.
   * @param cls The status line's class: `down` while waiting to retry.
   * @param waiting Whether the page waits to retry, when "Reconnect now" makes sense.
   */
  status(text: string, cls: string, waiting: boolean): void;
}

/** The longest wait between two attempts, in ms. */
const MAX_DELAY_MS = 30_000;

/** A WebSocket that reconnects. */
export class ReconnectingSocket {
  readonly #url: string;
  readonly #protocol: string;
  readonly #events: SocketEvents;
  #ws: WebSocket | null = null;
  #attempts = 0;
  #timer: number | undefined;
  #countdown: number | undefined;
  #stopped = true;

  /**
   * A socket, not open yet.
   *
   * @param url The server's WebSocket URL.
   * @param protocol The subprotocol to ask for.
   * @param events What to tell the page.
   */
  constructor(url: string, protocol: string, events: SocketEvents) {
    this.#url = url;
    this.#protocol = protocol;
    this.#events = events;
  }

  /** Whether a WebSocket is open or opening. */
  get connected(): boolean {
    return this.#ws !== null;
  }

  /** Connects now, whatever the backoff was waiting for. */
  connect(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#countdown);
    this.#stopped = false;
    this.#events.status(this.#attempts ? "Reconnecting…" : "Connecting…", "", false);
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#url, this.#protocol);
    } catch {
      this.#retryLater();
      return;
    }
    this.#ws = ws;
    ws.onopen = () => this.#events.open();
    ws.onmessage = (event) => {
      if (ws !== this.#ws || typeof event.data !== "string") return;
      for (const line of event.data.split(/\r?\n/)) {
        if (line) this.#events.line(line);
      }
    };
    ws.onclose = () => {
      if (ws !== this.#ws) return;
      this.#ws = null;
      this.#events.dropped();
      if (!this.#stopped) this.#retryLater();
    };
  }

  /** Forgets past failures: the next retry waits the shortest time. */
  resetBackoff(): void {
    this.#attempts = 0;
  }

  /**
   * Sends one line, if the socket is open (a line for a closed socket is dropped: the
   * outbox keeps what must not be lost).
   *
   * @param line The IRC line, without CR LF.
   */
  send(line: string): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(line);
  }

  /** Closes the socket and stops retrying. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#countdown);
    const ws = this.#ws;
    this.#ws = null;
    ws?.close();
  }

  /**
   * Stops retrying and waits for the server to close the socket (after a QUIT), so that what
   * was sent before is handled; closes it itself after a while.
   *
   * @param timeoutMs How long to wait for the server.
   * @returns Resolves once the socket is closed.
   */
  finish(timeoutMs: number): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#countdown);
    const ws = this.#ws;
    this.#ws = null;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(() => ws.close(), timeoutMs);
    ws.addEventListener("close", () => {
      clearTimeout(timer);
      resolve();
    });
    return promise;
  }

  // Exponential backoff with jitter (1 s, 2 s, 4 s … at most 30 s), so a restarted server is
  // not hit by every browser at the same instant.
  #retryLater(): void {
    const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** this.#attempts) *
      (0.75 + Math.random() * 0.5);
    this.#attempts++;
    const due = Date.now() + delay;
    const tick = () => {
      const seconds = Math.max(1, Math.ceil((due - Date.now()) / 1000));
      this.#events.status(`Disconnected — reconnecting in ${seconds} s`, "down", true);
    };
    tick();
    this.#countdown = setInterval(tick, 1000);
    this.#timer = setTimeout(() => this.connect(), delay);
  }
}
