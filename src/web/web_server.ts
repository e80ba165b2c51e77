/**
 * The HTTP side of `shmooze serve`: the chat page, the live monitor, IRC over WebSocket,
 * Prometheus metrics and a health check, all on one Deno.serve listener with every asset
 * embedded, so a compiled binary serves them with no files and no CDN.
 *
 * | Path              | What                                                          |
 * | ----------------- | ------------------------------------------------------------- |
 * | `/`               | chat page                                                     |
 * | `/irc`            | IRC over WebSocket (`text.ircv3.net`), Origin checked         |
 * | `/monitor`        | live dashboard                                                |
 * | `/monitor/events` | Server-Sent Events: a {@link MonitorSnapshot} every second    |
 * | `/api/stats`      | the same snapshot once, as JSON                               |
 * | `/metrics`        | Prometheus text format                                        |
 * | `/healthz`        | `ok`                                                          |
 *
 * @module
 */
import type { Connection } from "../chat/connection.ts";
import { CHAT_HTML } from "./_chat_page.ts";
import { MONITOR_HTML } from "./_monitor_page.ts";
import { formatMetrics, METRICS_CONTENT_TYPE } from "./metrics.ts";
import type { MonitorSnapshot } from "./monitor_snapshot.ts";
import { normalizeOrigin, originAllowed } from "./origin_policy.ts";
import {
  IRC_SUBPROTOCOL,
  WebSocketConnection,
  type WebSocketLimits,
} from "./websocket_connection.ts";

/** What the web side needs from the chat server. */
export interface WebBackend {
  /**
   * Hands a new client connection to the chat server, which runs the IRC protocol on it
   * with the same limits as any other transport.
   *
   * @param connection The connection.
   */
  attach(connection: Connection): void;
  /**
   * The server's numbers now.
   *
   * @returns A snapshot.
   */
  snapshot(): MonitorSnapshot;
}

/** Options for {@link startWebServer}. */
export interface WebServerOptions {
  /** The address to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** The port; 0 picks a free one. @default {54080} */
  port?: number;
  /** Origins besides the server's own whose pages may open the IRC WebSocket. @default {[]} */
  allowedOrigins?: string[];
  /** WebSocket size limits. */
  limits?: WebSocketLimits;
  /** How often `/monitor/events` sends a snapshot, in ms. @default {1000} */
  eventIntervalMs?: number;
  /** Serve HTTPS (and so WSS) with this PEM certificate and key instead of plain HTTP. */
  tls?: { cert: string; key: string };
}

/** A running web server. */
export interface WebServer {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on (the real one when 0 was asked). */
  readonly port: number;
  /** Ends event streams and WebSockets, stops listening, and waits for requests to end. */
  shutdown(): Promise<void>;
}

/** Past this many undelivered snapshots, an event stream's reader counts as gone. */
const MAX_UNSENT_EVENTS = 10;
const encoder = new TextEncoder();

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function inner(html: string, tag: string): string {
  const start = html.indexOf(">", html.indexOf(`<${tag}>`)) + 1;
  return html.slice(start, html.indexOf(`</${tag}>`, start));
}

// The pages' one inline script and style are allowed by hash and nothing else is: an
// injected script or a request to another site would be refused by the browser.
async function pageResponse(html: string): Promise<() => Response> {
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${await sha256Base64(inner(html, "script"))}'`,
    `style-src 'sha256-${await sha256Base64(inner(html, "style"))}'`,
    "connect-src 'self'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  const body = encoder.encode(html);
  return () =>
    new Response(body, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-cache",
      },
    });
}

function text(body: string, status = 200, contentType = "text/plain; charset=utf-8"): Response {
  return new Response(body, {
    status,
    headers: { "content-type": contentType, "cache-control": "no-store" },
  });
}

/**
 * Starts the web server.
 *
 * @param backend The chat server.
 * @param options Where to listen and the limits.
 * @returns The running server, once it listens.
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
  const allowed = (options.allowedOrigins ?? []).map((origin) => {
    const normalized = normalizeOrigin(origin);
    if (normalized === undefined) throw new Error(`Allowed origin "${origin}" is not a URL`);
    return normalized;
  });
  const chatPage = await pageResponse(CHAT_HTML);
  const monitorPage = await pageResponse(MONITOR_HTML);
  const sockets = new Set<WebSocketConnection>();
  const events = new EventStreams(backend, options.eventIntervalMs ?? 1000);

  function upgrade(request: Request, remoteAddress: string): Response {
    if (!originAllowed(request, allowed)) {
      return text(`WebSocket origin not allowed: ${request.headers.get("origin")}\n`, 403);
    }
    const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",")
      .map((p) => p.trim());
    const { socket, response } = Deno.upgradeWebSocket(
      request,
      offered.includes(IRC_SUBPROTOCOL) ? { protocol: IRC_SUBPROTOCOL } : {},
    );
    const connection = new WebSocketConnection(
      socket,
      remoteAddress,
      options.limits,
      options.tls !== undefined,
    );
    sockets.add(connection);
    socket.addEventListener("close", () => sockets.delete(connection));
    backend.attach(connection);
    return response;
  }

  function route(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Response {
    const { pathname } = new URL(request.url);
    const isUpgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (isUpgrade && (pathname === "/irc" || pathname === "/")) {
      return upgrade(request, info.remoteAddr.hostname);
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    switch (pathname) {
      case "/":
        return chatPage();
      case "/monitor":
        return monitorPage();
      case "/monitor/events":
        return events.open();
      case "/api/stats":
        return text(JSON.stringify(backend.snapshot()), 200, "application/json");
      case "/metrics":
        return text(
          formatMetrics(backend.snapshot(), Deno.memoryUsage()),
          200,
          METRICS_CONTENT_TYPE,
        );
      case "/healthz":
        return text("ok\n");
      case "/irc":
        return text("This address speaks IRC over WebSocket (text.ircv3.net)\n", 426);
      default:
        return text("Not found\n", 404);
    }
  }

  // Deno.serve binds before it returns (and throws if it cannot); onListen only silences
  // its default banner, since serve prints its own line.
  const listener = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 54080,
    onListen: () => {},
    onError: () => text("Internal server error\n", 500),
    ...options.tls,
  }, route);
  return {
    hostname: listener.addr.hostname,
    port: listener.addr.port,
    async shutdown() {
      events.closeAll();
      for (const socket of sockets) socket.close();
      await listener.shutdown();
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

  open(): Response {
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
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
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
