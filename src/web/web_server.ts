/**
 * The HTTP side of `shmooze serve`: the chat page, the live monitor, IRC over WebSocket,
 * Prometheus metrics and a health check, with every asset embedded, so a compiled binary
 * serves them with no files and no CDN.
 *
 * | Path              | What                                                          |
 * | ----------------- | ------------------------------------------------------------- |
 * | `/`               | chat page                                                     |
 * | `/irc`            | IRC over WebSocket (`binary.ircv3.net`, `text.ircv3.net`)     |
 * | `/monitor`        | live dashboard                                                |
 * | `/monitor/events` | Server-Sent Events: a {@link MonitorSnapshot} every second    |
 * | `/api/stats`      | the same snapshot once, as JSON                               |
 * | `/metrics`        | Prometheus text format                                        |
 * | `/healthz`        | `ok`                                                          |
 * | `/upload`         | file upload by logged-in accounts (`POST`), when enabled      |
 * | `/files/<id>/…`   | uploaded files (see `uploads.ts`)                             |
 * | `/push-worker.js` | the chat page's service worker (Web Push notifications)       |
 *
 * It is its own small HTTP/1.1 server on `Deno.listen` (or `Deno.listenTls`), because a
 * server exposed to anyone needs a say over each connection, which `Deno.serve` does not
 * give: the accept loop ({@link AcceptLoop}) survives running out of file descriptors; each
 * connection is admitted by the chat server's per-address gate, shared with IRC, before a
 * byte is read; a request head has a size cap and a deadline (`_http_connection.ts`); and
 * WebSocket frames are checked against their limit from the header, before their payload
 * is read (`websocket_connection.ts`). GET and HEAD are served everywhere; `POST` (and
 * `OPTIONS`) only at `/upload`, whose body is read once its size, sender and limits have been
 * judged from the head (`uploads.ts`).
 *
 * @module
 */
import type { Connection } from "../chat/connection.ts";
import type { FileStore } from "../chat/file_store.ts";
import { AcceptLoop } from "../net/accept_loop.ts";
import type { AddressGate, Admission } from "../net/address_gate.ts";
import { listen } from "../net/listen.ts";
import PUSH_WORKER_JS from "./_bundle/push_worker.js" with { type: "text" };
import { CHAT_PAGE } from "./_chat_page.ts";
import {
  type HttpLimits,
  type HttpRequest,
  resolveHttpLimits,
  serveHttpConnection,
} from "./_http_connection.ts";
import { type HttpReply, replyAndClose, textReply } from "./_http_response.ts";
import type { Authenticator } from "./http_auth.ts";
import { FILES_PATH, UPLOAD_PATH, Uploads, uploadUrl } from "./uploads.ts";
import { MONITOR_PAGE } from "./_monitor_page.ts";
import type { WebPage } from "./_page.ts";
import { acceptKey } from "./_websocket_frame.ts";
import { formatMetrics, METRICS_CONTENT_TYPE } from "./metrics.ts";
import type { MonitorSnapshot } from "./monitor_snapshot.ts";
import { hostAllowed, hostName, normalizeOrigin, originAllowed } from "./origin_policy.ts";
import {
  chooseSubprotocol,
  WebSocketConnection,
  type WebSocketLimits,
} from "./websocket_connection.ts";

/** What the web side needs from the chat server. */
export interface WebBackend {
  /**
   * The per-address admission every connection passes, shared with the chat server's other
   * listeners so one address's connections of every kind count against one limit.
   */
  readonly gate: AddressGate;
  /**
   * Hands a new client connection to the chat server, which runs the IRC protocol on it
   * with the same limits as any other transport.
   *
   * @param connection The connection.
   * @param admission The HTTP connection's admission, handed over: the WebSocket counts
   *   against the per-address limit once, as the connection it was.
   */
  attach(connection: Connection, admission: Admission): void;
  /**
   * The server's numbers now.
   *
   * @returns A snapshot.
   */
  snapshot(): MonitorSnapshot;
  /**
   * Accept errors of the chat server's own listeners, by name, for `/metrics`.
   *
   * @returns The counts.
   */
  acceptErrors(): Record<string, number>;
}

/** Options for {@link startWebServer}. */
export interface WebServerOptions {
  /** The address to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** The port; 0 picks a free one. @default {54080} */
  port?: number;
  /** Origins besides the server's own whose pages may open the IRC WebSocket. @default {[]} */
  allowedOrigins?: string[];
  /**
   * Host names requests may be sent to, besides IP literals, `localhost`, the hosts of
   * `allowedOrigins` and `hostname`; a request for another name is answered 421 (a
   * WebSocket handshake 403), which stops DNS rebinding. @default {[]}
   */
  allowedHosts?: string[];
  /** WebSocket size limits and close timeout. */
  limits?: WebSocketLimits;
  /** Request-head size and the HTTP deadlines. */
  http?: HttpLimits;
  /** How often `/monitor/events` sends a snapshot, in ms. @default {1000} */
  eventIntervalMs?: number;
  /** Serve HTTPS (and so WSS) with this PEM certificate and key instead of plain HTTP. */
  tls?: { cert: string; key: string };
  /**
   * The web side's address as its users reach it, when a reverse proxy stands in front (from
   * `parsePublicUrl`): its host is allowed, its origin may upload, and upload links are made
   * from it. @default {undefined}
   */
  publicUrl?: URL;
  /** Accept uploads (`POST /upload`) into this store from whom the authenticator lets in. */
  uploads?: { store: FileStore; authenticator: Authenticator };
  /**
   * Share the port with other processes (the workers of `serve --workers`; Linux spreads
   * connections over them; Deno needs `--unstable-net`). @default {false}
   */
  reusePort?: boolean;
}

/** A running web server. */
export interface WebServer {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on (the real one when 0 was asked). */
  readonly port: number;
  /**
   * The upload URL to advertise (`draft/FILEHOST`), when uploads are on and a URL can be told
   * (see `uploadUrl`).
   */
  readonly uploadUrl: string | undefined;
  /** Ends event streams, WebSockets and connections, stops listening, and waits for them. */
  shutdown(): Promise<void>;
}

/** Past this many undelivered snapshots, an event stream's reader counts as gone. */
const MAX_UNSENT_EVENTS = 10;
/** How long a refused connection may take to read its 503 before it is closed. */
const REFUSAL_WRITE_MS = 1000;
const encoder = new TextEncoder();

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

// The pages' one inline script and style are allowed by hash and nothing else is: an
// injected script or a request to another site would be refused by the browser. The chat
// page also shows images from this server (upload previews) and runs its service worker.
async function pageReply(page: WebPage, chat = false): Promise<() => HttpReply> {
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${await sha256Base64(page.script)}'`,
    `style-src 'sha256-${await sha256Base64(page.style)}'`,
    "connect-src 'self'",
    chat ? "img-src 'self' data:" : "img-src data:",
    ...(chat ? ["worker-src 'self'"] : []),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  const body = encoder.encode(page.html);
  return () => ({
    status: 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
    },
    body,
  });
}

/**
 * The service worker's script. At the root, so its scope is the chat page's; its own CSP
 * lets it fetch nothing (it only shows notifications and focuses pages); `no-cache` so an
 * update is seen on the page's next visit.
 */
function workerReply(): HttpReply {
  return {
    status: 200,
    headers: {
      "content-type": "text/javascript; charset=utf-8",
      "content-security-policy": "default-src 'none'",
      "x-content-type-options": "nosniff",
      "cache-control": "no-cache",
    },
    body: encoder.encode(PUSH_WORKER_JS),
  };
}

/** The tokens of a comma-separated header, lowercased. */
function tokens(value: string | null): string[] {
  return (value ?? "").split(",").map((token) => token.trim().toLowerCase());
}

/**
 * Starts the web server.
 *
 * @param backend The chat server.
 * @param options Where to listen, the allowed names and the limits.
 * @returns The running server, once it listens.
 * @throws {ListenError} when it cannot listen (a port in use …); Error for an allowed origin or host
 *   that is not one.
 *
 * @example Serve the chat page next to an IRC server
 * ```ts ignore
 * import { startWebServer } from "./web_server.ts";
 *
 * const web = await startWebServer(backend, { hostname: "127.0.0.1", port: 0 });
 * console.log(`http on ${web.hostname}:${web.port}`);
 * await web.shutdown();
 * ```
 */
export async function startWebServer(
  backend: WebBackend,
  options: WebServerOptions = {},
): Promise<WebServer> {
  const allowedOrigins = (options.allowedOrigins ?? []).map((origin) => {
    const normalized = normalizeOrigin(origin);
    if (normalized === undefined) throw new Error(`Allowed origin "${origin}" is not a URL`);
    return normalized;
  });
  if (options.publicUrl) allowedOrigins.push(options.publicUrl.origin);
  const hostname = options.hostname ?? "127.0.0.1";
  const allowedHosts = [
    ...(options.allowedHosts ?? []),
    ...allowedOrigins.map((origin) => new URL(origin).host),
    hostname,
  ].map((host) => {
    const name = hostName(host);
    if (name === undefined) throw new Error(`Allowed host "${host}" is not a host name`);
    return name;
  });
  const secure = options.tls !== undefined;
  const uploads = options.uploads && new Uploads({
    ...options.uploads,
    publicUrl: options.publicUrl,
    allowedOrigins,
  });
  const http = resolveHttpLimits({ maxBodyBytes: uploads?.maxFileBytes, ...options.http });
  const chatPage = await pageReply(CHAT_PAGE, true);
  const monitorPage = await pageReply(MONITOR_PAGE);
  const events = new EventStreams(backend, options.eventIntervalMs ?? 1000);
  /** Sockets still speaking HTTP, and the tasks serving them. */
  const connections = new Map<Deno.Conn, Promise<void>>();
  const sockets = new Set<WebSocketConnection>();

  async function upgrade(request: HttpRequest, admission: Admission): Promise<HttpReply> {
    const { headers } = request;
    if (!originAllowed(headers, allowedOrigins)) {
      return textReply(403, `WebSocket origin not allowed: ${headers.get("origin")}\n`);
    }
    if (headers.get("sec-websocket-version") !== "13") {
      const reply = textReply(426, "Only WebSocket version 13 is spoken here\n");
      return { ...reply, headers: { ...reply.headers, "sec-websocket-version": "13" } };
    }
    const key = headers.get("sec-websocket-key") ?? "";
    let keyBytes = 0;
    try {
      keyBytes = atob(key).length;
    } catch { /* not base64: refused below */ }
    if (
      request.version !== "1.1" || !tokens(headers.get("connection")).includes("upgrade") ||
      keyBytes !== 16
    ) {
      return textReply(400, "Not a WebSocket handshake (RFC 6455 section 4.1)\n");
    }
    const subprotocol = chooseSubprotocol(tokens(headers.get("sec-websocket-protocol")));
    return {
      status: 101,
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-accept": await acceptKey(key),
        ...(subprotocol === undefined ? {} : { "sec-websocket-protocol": subprotocol }),
      },
      takeover(conn, buffered) {
        const connection = new WebSocketConnection(conn, request.remoteAddress, {
          buffered,
          limits: options.limits,
          secure,
          subprotocol,
        });
        sockets.add(connection);
        connection.closed.then(() => sockets.delete(connection));
        backend.attach(connection, admission);
      },
    };
  }

  function route(request: HttpRequest, admission: Admission): HttpReply | Promise<HttpReply> {
    const { path, headers } = request;
    const isUpgrade = request.method === "GET" &&
      tokens(headers.get("upgrade")).includes("websocket") && (path === "/irc" || path === "/");
    // An HTTP/1.0 request may come without Host; it is not a browser's, so not a rebinding.
    const host = headers.get("host");
    if (host !== null && !hostAllowed(host, allowedHosts)) {
      const message = `This server does not answer to "${host}": ` +
        `the name is not one of its allowed host names\n`;
      return textReply(isUpgrade ? 403 : 421, message);
    }
    if (isUpgrade) return upgrade(request, admission);
    if (uploads && path === UPLOAD_PATH) return uploads.upload(request);
    if (uploads && path.startsWith(FILES_PATH)) return uploads.serve(request);
    if (request.method !== "GET" && request.method !== "HEAD") {
      const reply = textReply(405, "Method not allowed\n");
      return { ...reply, headers: { ...reply.headers, allow: "GET, HEAD" } };
    }
    switch (path) {
      case "/":
        return chatPage();
      case "/monitor":
        return monitorPage();
      case "/monitor/events":
        return events.open();
      case "/api/stats":
        return textReply(200, JSON.stringify(backend.snapshot()), "application/json");
      case "/metrics":
        return textReply(
          200,
          formatMetrics(backend.snapshot(), Deno.memoryUsage(), {
            acceptErrors: { ...backend.acceptErrors(), [loop.name]: loop.errors },
          }),
          METRICS_CONTENT_TYPE,
        );
      case "/healthz":
        return textReply(200, "ok\n");
      case "/push-worker.js":
        return workerReply();
      case "/irc":
        return textReply(
          426,
          "This address speaks IRC over WebSocket (binary.ircv3.net or text.ircv3.net)\n",
        );
      default:
        return textReply(404, "Not found\n");
    }
  }

  /** Admits a new connection (or answers 503 and closes it) and serves it. */
  function accept(conn: Deno.Conn): void {
    const remoteAddress = (conn.remoteAddr as Deno.NetAddr).hostname;
    const admission = backend.gate.admit(remoteAddress);
    if (admission.refused !== undefined) {
      // Answered before anything is read, so the peer gets it whatever it was sending;
      // Retry-After because the cap frees itself as the address's connections end.
      const reply = textReply(503, `${admission.refused}\n`);
      reply.headers = { ...reply.headers, "retry-after": "60" };
      replyAndClose(conn, reply, REFUSAL_WRITE_MS);
      return;
    }
    const task = serveHttpConnection(conn, (request) => route(request, admission), {
      remoteAddress,
      secure,
      limits: http,
    }).then((upgraded) => {
      if (!upgraded) admission.release();
    }).finally(() => connections.delete(conn));
    connections.set(conn, task);
  }

  const listener = listen("http", hostname, options.port ?? 54080, options.tls, {
    reusePort: options.reusePort,
  });
  const loop = new AcceptLoop(listener, accept, { name: secure ? "https" : "http" });
  const address = listener.addr as Deno.NetAddr;
  return {
    hostname: address.hostname,
    port: address.port,
    uploadUrl: uploads &&
      uploadUrl(options.publicUrl, { hostname: address.hostname, port: address.port, secure }),
    async shutdown() {
      loop.close();
      events.closeAll();
      for (const socket of sockets) socket.close();
      for (const conn of connections.keys()) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await Promise.all([
        loop.done,
        ...connections.values(),
        ...[...sockets].map((socket) => socket.closed),
      ]);
    },
  };
}

/** The `/monitor/events` streams: one timer and one encoded snapshot shared by all. */
class EventStreams {
  #backend: WebBackend;
  #intervalMs: number;
  #streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(backend: WebBackend, intervalMs: number) {
    this.#backend = backend;
    this.#intervalMs = intervalMs;
  }

  open(): HttpReply {
    let self: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        // `retry` makes the browser come back a second after the server restarts.
        controller.enqueue(encoder.encode(`retry: 1000\n\n${this.#encode()}`));
        this.#streams.add(controller);
        this.#timer ??= setInterval(() => this.#broadcast(), this.#intervalMs);
      },
      cancel: () => this.#drop(self),
    });
    return {
      status: 200,
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
      stream: body,
    };
  }

  closeAll(): void {
    for (const controller of this.#streams) {
      try {
        controller.close();
      } catch { /* already closed */ }
      this.#drop(controller);
    }
  }

  #encode(): string {
    return `event: stats\ndata: ${JSON.stringify(this.#backend.snapshot())}\n\n`;
  }

  #broadcast(): void {
    const chunk = encoder.encode(this.#encode());
    for (const controller of this.#streams) {
      if ((controller.desiredSize ?? 0) < -MAX_UNSENT_EVENTS) {
        controller.error(new Error("Event stream reader is not reading"));
        this.#drop(controller);
      } else {
        controller.enqueue(chunk);
      }
    }
  }

  #drop(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#streams.delete(controller);
    if (this.#streams.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
