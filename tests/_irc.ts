/**
 * IRC test helpers: a raw-socket client that records every line and waits for the one a
 * test expects (bounded), and a `shmooze serve` child process on an ephemeral port.
 */
import { type Child, spawn, type SpawnOptions } from "./_helpers.ts";
import { type IrcMessage, parseMessage } from "../src/irc/message.ts";
import { type ChatServer, type ServerOptions, startServer } from "../src/server/server.ts";

/** A received line, parsed, with its text. */
export type Received = IrcMessage & { line: string };

/** What {@link IrcTestClient.waitFor} looks for. */
export type Match = RegExp | string | ((message: Received) => boolean);

function matches(match: Match, message: Received): boolean {
  if (typeof match === "string") return message.command === match;
  if (match instanceof RegExp) return match.test(message.line);
  return match(message);
}

/** Options for {@link IrcTestClient.register}. */
export interface RegisterOptions {
  /** Capabilities to request (CAP LS 302, REQ, END). */
  caps?: string[];
  /** The user name. @default {the nick} */
  user?: string;
}

/**
 * A plain IRC client on a real socket for tests: every line is kept; `waitFor` consumes
 * lines in order, so a test states what it expects next. PINGs are answered.
 */
export class IrcTestClient {
  /** Every line received, in order. */
  readonly lines: Received[] = [];
  /** Resolves when the server closes the connection. */
  readonly closed: Promise<void>;
  /** The nick after {@link register}. */
  nick = "";
  /** Whether PINGs are answered. */
  autoPong = true;
  #conn: Deno.Conn;
  #cursor = 0;
  #listeners = new Set<() => void>();
  #encoder = new TextEncoder();
  #replies = 0;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.closed = this.#read();
  }

  /**
   * Connects to a server.
   *
   * @param port The port.
   * @param hostname The address.
   * @returns The client.
   */
  static async connect(port: number, hostname = "127.0.0.1"): Promise<IrcTestClient> {
    return new IrcTestClient(await Deno.connect({ hostname, port }));
  }

  /**
   * Connects with TLS, trusting one certificate, and completes the handshake.
   *
   * @param port The TLS port.
   * @param caCert The PEM certificate to trust (the server's self-signed one).
   * @param hostname The address.
   * @returns The client.
   */
  static async connectTls(
    port: number,
    caCert: string,
    hostname = "127.0.0.1",
  ): Promise<IrcTestClient> {
    const conn = await Deno.connectTls({ hostname, port, caCerts: [caCert] });
    await conn.handshake();
    return new IrcTestClient(conn);
  }

  /**
   * Connects and registers.
   *
   * @param port The port.
   * @param nick The nick.
   * @param options Capabilities.
   * @returns The registered client (its 001 consumed).
   */
  static async register(
    port: number,
    nick: string,
    options: RegisterOptions = {},
  ): Promise<IrcTestClient> {
    const client = await IrcTestClient.connect(port);
    await client.register(nick, options);
    return client;
  }

  /**
   * Sends one line (CR LF added).
   *
   * @param line The line.
   */
  async send(line: string): Promise<void> {
    await this.sendBytes(this.#encoder.encode(`${line}\r\n`));
  }

  /**
   * Sends raw bytes.
   *
   * @param bytes The bytes.
   */
  async sendBytes(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }

  /**
   * Registers: optional CAP negotiation, NICK, USER; waits for 001 and the end of the MOTD.
   *
   * @param nick The nick.
   * @param options Capabilities and user name.
   */
  async register(nick: string, options: RegisterOptions = {}): Promise<void> {
    const caps = options.caps ?? [];
    if (caps.length > 0) await this.send("CAP LS 302");
    await this.send(`NICK ${nick}`);
    await this.send(`USER ${options.user ?? nick} 0 * :${nick} the tester`);
    if (caps.length > 0) {
      await this.send(`CAP REQ :${caps.join(" ")}`);
      await this.waitFor((m) => m.command === "CAP" && m.params[1] === "ACK");
      await this.send("CAP END");
    }
    await this.waitFor("001");
    await this.waitFor((m) => m.command === "376" || m.command === "422");
    this.nick = nick;
  }

  /**
   * Joins a channel and waits for the end of its NAMES.
   *
   * @param channel The channel.
   */
  async join(channel: string): Promise<void> {
    await this.send(`JOIN ${channel}`);
    await this.waitFor((m) => m.command === "366" && m.params[1] === channel);
  }

  /**
   * Waits for the next line (after the last one waited for) that matches.
   *
   * @param match A command or numeric, a pattern for the whole line, or a predicate.
   * @param timeoutMs How long to wait.
   * @returns The line.
   */
  waitFor(match: Match, timeoutMs = 10_000): Promise<Received> {
    return new Promise((resolve, reject) => {
      let ended = false;
      const check = () => {
        for (; this.#cursor < this.lines.length; this.#cursor++) {
          const message = this.lines[this.#cursor];
          if (matches(match, message)) {
            this.#cursor++;
            cleanup();
            resolve(message);
            return;
          }
        }
        if (ended) fail("the connection closed");
      };
      const fail = (why: string) => {
        cleanup();
        const tail = this.lines.slice(-15).map((m) => `  ${m.line}`).join("\n");
        reject(
          new Error(
            `${this.nick || "client"}: no line matching ${match}: ${why}; last lines:\n${tail}`,
          ),
        );
      };
      const timer = setTimeout(() => fail(`not within ${timeoutMs} ms`), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
      this.closed.then(() => {
        ended = true;
        if (this.#listeners.has(check)) check();
      });
      check();
    });
  }

  /**
   * Waits for `count` lines that match, in order.
   *
   * @param match What to look for.
   * @param count How many.
   * @param timeoutMs The limit for all of them.
   * @returns The lines.
   */
  async waitForMany(match: Match, count: number, timeoutMs = 20_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    const found: Received[] = [];
    while (found.length < count) {
      found.push(await this.waitFor(match, Math.max(1, deadline - Date.now())));
    }
    return found;
  }

  /**
   * Sends `line`, then a PING, and returns the lines that came before its PONG: the whole
   * answer to a command whose reply has no end of its own, or may be empty.
   *
   * @param line The command.
   * @param timeoutMs How long to wait for the PONG.
   * @returns The lines in between, in order.
   */
  async reply(line: string, timeoutMs = 10_000): Promise<Received[]> {
    const token = `reply-${++this.#replies}`;
    await this.send(`${line}\r\nPING ${token}`);
    const lines: Received[] = [];
    await this.waitFor((m) => {
      if (m.command === "PONG" && m.params.at(-1) === token) return true;
      lines.push(m);
      return false;
    }, timeoutMs);
    return lines;
  }

  /** Closes the socket (idempotent) and waits for the reader to stop. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    await this.closed;
  }

  /** Closes the socket. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(64 * 1024);
    let pending = "";
    try {
      while (true) {
        const count = await this.#conn.read(buffer);
        if (count === null) break;
        pending += decoder.decode(buffer.subarray(0, count), { stream: true });
        const parts = pending.split("\r\n");
        pending = parts.pop()!;
        for (const line of parts) {
          const message = parseMessage(line);
          if (message === undefined) continue;
          this.lines.push({ ...message, line });
          if (message.command === "PING" && this.autoPong) {
            this.send(`PONG :${message.params[0] ?? ""}`).catch(() => {});
          }
        }
        for (const listener of [...this.#listeners]) listener();
      }
    } catch {
      // Reset by the server or closed by the test: either way the stream has ended.
    }
    for (const listener of [...this.#listeners]) listener();
  }
}

/**
 * An IPv4 address of this machine that is not loopback, if it has one: a client connecting
 * to it is not on loopback as the server sees it.
 *
 * @returns The address, or undefined.
 */
export function outsideAddress(): string | undefined {
  return Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    ?.address;
}

/** A running `shmooze serve` child. */
export interface ServeProcess {
  /** The child process. */
  readonly child: Child;
  /** The port it listens on. */
  readonly port: number;
  /** The HTTP port, when started with `http`. */
  readonly httpPort?: number;
  /** Its data directory. */
  readonly dataDir: string;
  /** Kills it (if still running); removes the data directory if this helper made it. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options for {@link startServe}. */
export interface ServeOptions extends SpawnOptions {
  /** Extra arguments for `serve`. */
  args?: string[];
  /** The data directory; a new temporary one when absent. */
  dataDir?: string;
  /** Publish the status board. @default {false} */
  status?: boolean;
  /** Serve HTTP too, on a free port (waits for its `http on` or, with TLS, `https on` line). @default {false} */
  http?: boolean;
}

/**
 * Starts `deno run -A main.ts serve --host 127.0.0.1 --port 0 --no-http` and waits for its
 * `listening on` line.
 *
 * @param options Arguments, data directory, status board.
 * @returns The running server.
 */
export async function startServe(options: ServeOptions = {}): Promise<ServeProcess> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "shmooze-serve-test-" });
  const child = spawn([
    "main.ts",
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--data",
    dataDir,
    ...(options.http ? ["--http-port", "0"] : ["--no-http"]),
    ...(options.status ? [] : ["--no-status"]),
    ...(options.args ?? []),
  ], options);
  try {
    const line = await child.waitForLine(/^listening on /, 20_000);
    const port = Number(line.slice(line.lastIndexOf(":") + 1));
    const http = options.http ? await child.waitForLine(/^https? on /, 20_000) : undefined;
    return {
      child,
      port,
      httpPort: http === undefined ? undefined : Number(http.slice(http.lastIndexOf(":") + 1)),
      dataDir,
      async [Symbol.asyncDispose]() {
        await child[Symbol.asyncDispose]();
        if (ownDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      },
    };
  } catch (error) {
    await child[Symbol.asyncDispose]();
    if (ownDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw error;
  }
}

/**
 * Runs `body` against an in-process server on 127.0.0.1, an ephemeral port, no history, no
 * status board and no flood control unless `options` say otherwise; closes it after.
 *
 * @param options Server options over those defaults.
 * @param body The test.
 */
export async function withServer(
  options: ServerOptions,
  body: (server: ChatServer) => Promise<void>,
): Promise<void> {
  const server = await startServer({
    hostname: "127.0.0.1",
    port: 0,
    dataDir: false,
    status: false,
    ...options,
    limits: { floodBurst: 0, ...options.limits },
  });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}
