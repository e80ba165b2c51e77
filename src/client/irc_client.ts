// Over 600 lines: one class that owns a connection from TCP/TLS through CAP, SASL and
// registration to reading and waiting; about a third is documentation and examples.
/**
 * A small IRC client connection: connects over TCP, negotiates IRCv3 capabilities, logs in
 * to an account with SASL PLAIN when asked, registers a nick (retrying with a suffix when it
 * is taken), answers PING and hands every other message to one reader. The terminal client
 * is built on it; tests of the server, the bridge and the web client use it as a scripted
 * user.
 *
 * @module
 */
import { DEFAULT_LIMITS } from "../irc/limits.ts";
import { LineSplitter } from "../irc/line_splitter.ts";
import { formatMessage, type IrcMessage, nickOf, parseMessage } from "../irc/message.ts";

/**
 * The IRCv3 capabilities shmooze's client asks for when the server offers them: times,
 * message ids and client tags (replies, reactions), our own lines echoed, history, and read
 * markers shared by the devices of an account.
 *
 * @example Each one is enabled exactly when the server offers it
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "../server/server.ts";
 * import { IrcClient, WANTED_CAPABILITIES } from "./irc_client.ts";
 *
 * const server = await startServer({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   dataDir: false,
 *   status: false,
 * });
 * const client = await IrcClient.connect({ nick: "ann", port: server.port });
 * for (const capability of WANTED_CAPABILITIES) {
 *   assert.equal(client.capabilities.has(capability), client.offered.has(capability));
 * }
 * assert.ok(client.capabilities.has("draft/chathistory"));
 * await client.quit();
 * await server.close();
 * ```
 */
export const WANTED_CAPABILITIES: readonly string[] = [
  "server-time",
  "message-tags",
  "echo-message",
  "batch",
  "draft/chathistory",
  "draft/read-marker",
  "draft/message-redaction",
];

/** Options for {@link IrcClient.connect}. */
export interface IrcClientOptions {
  /** The nick to register. */
  nick: string;
  /** Server host name or address. @default {"127.0.0.1"} */
  host?: string;
  /** Server TCP port. @default {54000} */
  port?: number;
  /** The user name sent with USER. @default {the nick} */
  user?: string;
  /** The real name sent with USER. @default {"shmooze client"} */
  realname?: string;
  /** Capabilities to request when offered. @default {WANTED_CAPABILITIES} */
  capabilities?: readonly string[];
  /** How many other nicks to try (`nick_`, `nick_2` …) when the nick is taken. @default {8} */
  nickRetries?: number;
  /** Give up when registration takes longer. @default {15000} */
  registerTimeoutMs?: number;
  /** Connect with TLS, verifying the server's certificate. */
  tls?: TlsClientOptions;
  /** Log in to this account with SASL PLAIN before registering; a failed login is an error. */
  login?: LoginOptions;
}

/** The account {@link IrcClient.connect} logs in to. */
export interface LoginOptions {
  /** The account name. */
  account: string;
  /** Its password. */
  password: string;
}

/** How {@link IrcClient.connect} verifies a TLS server. */
export interface TlsClientOptions {
  /**
   * Certificates (PEM) to trust instead of the built-in roots: a self-signed server's own
   * certificate, or a private CA. @default {Mozilla's root certificates}
   */
  caCerts?: string[];
}

/**
 * A connection that failed: it could not be made, registration was refused, or it was lost.
 * The message names the server's host:port and the reason.
 *
 * @example Report a server that is not running
 * ```ts
 * import assert from "node:assert/strict";
 * import { IrcClient, IrcConnectionError } from "./irc_client.ts";
 *
 * // A port that was free a moment ago: nothing listens on it now.
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = listener.addr.port;
 * listener.close();
 * await assert.rejects(IrcClient.connect({ nick: "ann", port }), (error) => {
 *   assert.ok(error instanceof IrcConnectionError);
 *   const why = "connection refused (is the server running?)";
 *   assert.equal(error.message, `Cannot connect to 127.0.0.1:${port}: ${why}`);
 *   return true;
 * });
 * ```
 */
export class IrcConnectionError extends Error {
  /**
   * What went wrong when a program can act on it (a user interface adds what to do), else
   * undefined.
   */
  readonly problem: ConnectionProblem | undefined;

  /**
   * Makes the error for one failed connection.
   *
   * @param message What failed and why.
   * @param options The underlying error as `cause`, and the `problem` if it is known.
   */
  constructor(message: string, options?: ErrorOptions & { problem?: ConnectionProblem }) {
    super(message, options);
    this.name = "IrcConnectionError";
    this.problem = options?.problem;
  }
}

/**
 * Why a connection failed, where a program can say what to do about it:
 * - `not-tls`: TLS was asked for and the server answered in plain text;
 * - `tls-ca-as-leaf`: the server's certificate is a CA certificate, which TLS refuses as a
 *   server's own (what `openssl req -x509` makes by default);
 * - `tls-wrong-name`: the certificate is not for the name connected to;
 * - `tls-expired`: the certificate is outside its validity period;
 * - `tls-untrusted`: nothing trusted signed it (with `caCerts`: not one of those);
 * - `sasl-needs-tls`: the server refused the password on a connection without TLS.
 */
export type ConnectionProblem =
  | "not-tls"
  | "tls-ca-as-leaf"
  | "tls-wrong-name"
  | "tls-expired"
  | "tls-untrusted"
  | "sasl-needs-tls";

/** A TLS handshake failure with its problem, before connect() names the server. */
class TlsHandshakeError extends Error {
  readonly problem: ConnectionProblem;
  constructor(message: string, problem: ConnectionProblem, cause: unknown) {
    super(message, { cause });
    this.problem = problem;
  }
}

const encoder = new TextEncoder();
/** The line limit of a server that does not announce `LINELEN` (RFC 1459). */
const DEFAULT_LINE_LIMIT = 512;
/**
 * The longest user and host parts assumed in our own `nick!user@host` until the server
 * shows it: the common USERLEN (plus the `~` of a user name without ident) and HOSTLEN.
 */
const ASSUMED_USER_LENGTH = 11;
const ASSUMED_HOST_LENGTH = 63;
/** A full AUTHENTICATE chunk: the server waits for more (IRCv3 sasl). */
const SASL_CHUNK = 400;
/** The longest tag section a server may send (IRCv3 message-tags), `@` and space included. */
const SERVER_TAGS = 8191;

/** The AUTHENTICATE lines that carry `NUL account NUL password` (SASL PLAIN). */
function plainChunks(login: LoginOptions): string[] {
  const bytes = encoder.encode(`\0${login.account}\0${login.password}`);
  const base64 = btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(""));
  const chunks: string[] = [];
  for (let i = 0; i < base64.length; i += SASL_CHUNK) chunks.push(base64.slice(i, i + SASL_CHUNK));
  // A last chunk of exactly 400 would read as "more follow": "+" ends the payload.
  if (base64.length % SASL_CHUNK === 0) chunks.push("+");
  return chunks;
}

/** Connects and completes the handshake, so a certificate error surfaces here, explained. */
async function connectTls(
  hostname: string,
  port: number,
  options: TlsClientOptions,
): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({ hostname, port, caCerts: options.caCerts });
  try {
    await conn.handshake();
    return conn;
  } catch (error) {
    conn.close();
    const message = error instanceof Error ? error.message : String(error);
    if (/InvalidContentType|corrupt message|WrongVersion/i.test(message)) {
      // What rustls says when the other end answers in plain text, not TLS.
      throw new TlsHandshakeError(
        `the server did not answer in TLS (${message}): ${port} looks like a plain-text port`,
        "not-tls",
        error,
      );
    }
    if (!/certificate/i.test(message)) throw error;
    const [problem, why] = certificateProblem(message, hostname, options.caCerts !== undefined);
    throw new TlsHandshakeError(why, problem, error);
  }
}

/**
 * What is wrong with the server's certificate, from the TLS library's (rustls's) error.
 *
 * @param message The handshake error.
 * @param hostname The name connected to.
 * @param withCa Whether CA certificates were given to trust.
 * @returns The problem and the explanation, the library's words in brackets.
 */
function certificateProblem(
  message: string,
  hostname: string,
  withCa: boolean,
): [ConnectionProblem, string] {
  if (/CaUsedAsEndEntity/.test(message)) {
    return [
      "tls-ca-as-leaf",
      `the server's TLS certificate is a CA certificate (basicConstraints CA:TRUE, what openssl req -x509 makes by default), and TLS libraries refuse a CA as a server's own certificate (${message})`,
    ];
  }
  if (/not valid for name/.test(message)) {
    return [
      "tls-wrong-name",
      `the server's TLS certificate is not valid for ${hostname} (${message})`,
    ];
  }
  if (/expired|not valid before|NotValidYet/i.test(message)) {
    return [
      "tls-expired",
      `the server's TLS certificate is outside its validity period (${message}); the server needs a new one, or this machine's clock is wrong`,
    ];
  }
  if (withCa && /UnknownIssuer/.test(message)) {
    return [
      "tls-untrusted",
      `the server's TLS certificate is not trusted (${message}): the CA given did not sign it`,
    ];
  }
  return ["tls-untrusted", `the server's TLS certificate is not trusted (${message})`];
}

/**
 * One registered connection to an IRC server.
 *
 * @example Two users chat in #lobby
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "../server/server.ts";
 * import { IrcClient } from "./irc_client.ts";
 *
 * const server = await startServer({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   dataDir: false,
 *   status: false,
 * });
 * const ann = await IrcClient.connect({ nick: "ann", port: server.port });
 * const bob = await IrcClient.connect({ nick: "bob", port: server.port });
 * for (const client of [ann, bob]) {
 *   await client.send("JOIN", "#lobby");
 *   await client.waitFor((m) => m.command === "366", 5000); // the end of the names: joined
 * }
 * await ann.send("PRIVMSG", "#lobby", "hello bob");
 * const heard = await bob.waitFor((m) => m.command === "PRIVMSG", 5000);
 * assert.match(heard.source!, /^ann!/);
 * assert.deepEqual(heard.params, ["#lobby", "hello bob"]);
 * await ann.quit("bye");
 * const quit = await bob.waitFor((m) => m.command === "QUIT", 5000);
 * assert.deepEqual(quit.params, ["Quit: bye"]);
 * await bob.quit();
 * await server.close();
 * ```
 */
export class IrcClient {
  /** The server's host as given. */
  readonly host: string;
  /** The server's port. */
  readonly port: number;
  /** The nick first asked for (the registered one may carry a suffix). */
  readonly requestedNick: string;
  #conn: Deno.Conn;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #nick: string;
  #userHost: string | undefined;
  #secure: boolean;
  #account: string | undefined;
  #nickRefusal: string | undefined;
  #offered = new Map<string, string>();
  #enabled = new Set<string>();
  #isupport = new Map<string, string>();
  #queue: IrcMessage[] = [];
  #waiters = new Set<() => void>();
  #error: Error | undefined;
  #ended = false;
  #quitting = false;
  #done: Promise<void>;

  private constructor(
    conn: Deno.Conn,
    host: string,
    port: number,
    nick: string,
    secure: boolean,
  ) {
    this.#conn = conn;
    this.#secure = secure;
    this.#writer = conn.writable.getWriter();
    this.host = host;
    this.port = port;
    this.requestedNick = nick;
    this.#nick = nick;
    this.#done = this.#readLoop();
  }

  /**
   * Connects, negotiates capabilities and registers. Resolves once the server welcomes us
   * (001); the welcome and everything before it are still delivered by {@link messages}.
   *
   * @param options Server address, nick and limits.
   * @returns The registered client.
   * @throws {IrcConnectionError} When the connection fails, the server closes it, or every nick
   * tried is refused.
   *
   * @example A taken nick gets a suffix; the server's reason is kept
   * ```ts
   * import assert from "node:assert/strict";
   * import { startServer } from "../server/server.ts";
   * import { IrcClient } from "./irc_client.ts";
   *
   * const server = await startServer({
   *   hostname: "127.0.0.1",
   *   port: 0,
   *   dataDir: false,
   *   status: false,
   * });
   * const first = await IrcClient.connect({ nick: "ann", port: server.port });
   * const second = await IrcClient.connect({ nick: "ann", port: server.port });
   * assert.equal(first.nick, "ann");
   * assert.equal(second.nick, "ann_");
   * assert.equal(second.requestedNick, "ann");
   * assert.match(second.nickRefusal!, /already in use/);
   * await second.quit();
   * await first.quit();
   * assert.ok(first.ended);
   * await server.close();
   * ```
   */
  static async connect(options: IrcClientOptions): Promise<IrcClient> {
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? 54000;
    let conn: Deno.Conn;
    try {
      conn = options.tls ? await connectTls(host, port, options.tls) : await Deno.connect({
        hostname: host,
        port,
      });
    } catch (error) {
      const why = error instanceof Deno.errors.ConnectionRefused
        ? "connection refused (is the server running?)"
        : error instanceof Error
        ? error.message
        : String(error);
      throw new IrcConnectionError(`Cannot connect to ${host}:${port}: ${why}`, {
        cause: error,
        problem: error instanceof TlsHandshakeError ? error.problem : undefined,
      });
    }
    const client = new IrcClient(conn, host, port, options.nick, options.tls !== undefined);
    try {
      await client.#register(options);
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** The nick the server knows us by now. */
  get nick(): string {
    return this.#nick;
  }

  /**
   * Our `nick!user@host` as the server shows it to others: from the welcome (001), our own
   * JOIN and 396; until the server has shown it, the longest it may be (USERLEN and HOSTLEN
   * from ISUPPORT, else 11 and 63), so what is computed from it errs on the short side.
   */
  get mask(): string {
    if (this.#userHost !== undefined) return `${this.#nick}!${this.#userHost}`;
    const length = (token: string, fallback: number) =>
      Number(this.#isupport.get(token)) || fallback;
    const user = "u".repeat(length("USERLEN", ASSUMED_USER_LENGTH - 1) + 1);
    return `${this.#nick}!${user}@${"h".repeat(length("HOSTLEN", ASSUMED_HOST_LENGTH))}`;
  }

  /** The server's longest line in bytes, CR LF included: its `LINELEN`, else 512. */
  get lineLimit(): number {
    return Number(this.#isupport.get("LINELEN")) || DEFAULT_LINE_LIMIT;
  }

  /** The account we are logged in to (SASL, or REGISTER later), if any. */
  get account(): string | undefined {
    return this.#account;
  }

  /** Why the server refused the nick first asked for, when it did (its 433 text). */
  get nickRefusal(): string | undefined {
    return this.#nickRefusal;
  }

  /** The capabilities the server offered (CAP LS), each with its value ("" for none). */
  get offered(): ReadonlyMap<string, string> {
    return this.#offered;
  }

  /** The capabilities the server acknowledged. */
  get capabilities(): ReadonlySet<string> {
    return this.#enabled;
  }

  /** The server's ISUPPORT (005) tokens, e.g. `CHATHISTORY` → `"100"`. */
  get isupport(): ReadonlyMap<string, string> {
    return this.#isupport;
  }

  /** True once the connection has closed, for whatever reason. */
  get ended(): boolean {
    return this.#ended;
  }

  /** True once {@link quit} was called, so a close that follows is expected. */
  get quitting(): boolean {
    return this.#quitting;
  }

  /** The read error that ended the connection, if it did not end with a clean close. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Resolves when the connection has closed. */
  get done(): Promise<void> {
    return this.#done;
  }

  /**
   * Sends one message; the last parameter gets a colon when it needs one.
   *
   * @param command The command, e.g. `PRIVMSG`.
   * @param params Its parameters.
   * @returns When the line has been handed to the socket.
   */
  send(command: string, ...params: string[]): Promise<void> {
    return this.sendTagged({}, command, ...params);
  }

  /**
   * Sends one message with IRCv3 tags, such as the client tags of a reply
   * (`+draft/reply`) or a reaction (`+draft/react`); a server without `message-tags`
   * drops them.
   *
   * @param tags The tags, each value escaped as IRCv3 message-tags says.
   * @param command The command, e.g. `TAGMSG`.
   * @param params Its parameters.
   * @returns When the line has been handed to the socket.
   *
   * @example React to a message: the other side gets the tags with the TAGMSG
   * ```ts
   * import assert from "node:assert/strict";
   * import { startServer } from "../server/server.ts";
   * import { IrcClient } from "./irc_client.ts";
   *
   * const server = await startServer({
   *   hostname: "127.0.0.1",
   *   port: 0,
   *   dataDir: false,
   *   status: false,
   * });
   * const ann = await IrcClient.connect({ nick: "ann", port: server.port });
   * const bob = await IrcClient.connect({ nick: "bob", port: server.port });
   * await ann.sendTagged({ "+draft/react": "thumbs up", "+draft/reply": "m1" }, "TAGMSG", "bob");
   * const heard = await bob.waitFor((message) => message.command === "TAGMSG", 5000);
   * assert.equal(heard.tags["+draft/react"], "thumbs up");
   * assert.equal(heard.tags["+draft/reply"], "m1");
   * await ann.quit();
   * await bob.quit();
   * await server.close();
   * ```
   */
  async sendTagged(
    tags: Record<string, string>,
    command: string,
    ...params: string[]
  ): Promise<void> {
    const line = formatMessage({ tags, command, params });
    if (/[\r\n\0]/.test(line)) {
      throw new Error(`Cannot send ${command}: a parameter contains a line break or NUL`);
    }
    await this.#writer.write(encoder.encode(`${line}\r\n`));
  }

  /**
   * Every message received (PING excepted, which is answered here), oldest first, ending
   * when the connection closes. Each message goes to one reader only.
   *
   * @returns The messages.
   */
  async *messages(): AsyncIterableIterator<IrcMessage> {
    while (true) {
      const message = await this.#take();
      if (!message) return;
      yield message;
    }
  }

  /**
   * Reads messages until one matches, discarding those before it.
   *
   * @param predicate The test.
   * @param timeoutMs How long to wait. @default {10000}
   * @returns The matching message.
   * @throws {Error} On time-out or when the connection closes first.
   */
  async waitFor(
    predicate: (message: IrcMessage) => boolean,
    timeoutMs = 10_000,
  ): Promise<IrcMessage> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const message = await this.#take(deadline);
      if (message === undefined) {
        throw new Error(`Connection to ${this.host}:${this.port} closed before a matching message`);
      }
      if (message === null) throw new Error(`No matching IRC message within ${timeoutMs} ms`);
      if (predicate(message)) return message;
    }
  }

  /** The next queued message; undefined once the connection has ended, null at the deadline. */
  async #take(deadline = Infinity): Promise<IrcMessage | undefined | null> {
    while (true) {
      const next = this.#queue.shift();
      if (next) return next;
      if (this.#ended) return undefined;
      if (!(await this.#arrival(deadline))) return null;
    }
  }

  /** Waits until a message arrives or the connection ends (true), or the deadline passes. */
  async #arrival(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake!: () => void;
    const arrived = await new Promise<boolean>((resolve) => {
      wake = () => resolve(true);
      this.#waiters.add(wake);
      if (left !== Infinity) timer = setTimeout(() => resolve(false), left);
    });
    clearTimeout(timer);
    this.#waiters.delete(wake);
    return arrived;
  }

  #wakeAll(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /**
   * Sends QUIT and waits, bounded, for the server to close the connection, then closes it.
   *
   * @param reason The quit message.
   * @param timeoutMs How long to wait for the server. @default {5000}
   */
  async quit(reason = "", timeoutMs = 5000): Promise<void> {
    this.#quitting = true;
    if (!this.#ended) {
      await this.send("QUIT", ...(reason ? [reason] : [])).catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#done,
        new Promise((resolve) => timer = setTimeout(resolve, timeoutMs)),
      ]);
      clearTimeout(timer);
    }
    this.close();
  }

  /** Closes the connection at once. */
  close(): void {
    this.#quitting = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /** Quits (bounded) when used with `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.quit();
  }

  async #register(options: IrcClientOptions): Promise<void> {
    const login = options.login;
    const wanted = [...(options.capabilities ?? WANTED_CAPABILITIES), ...(login ? ["sasl"] : [])];
    const retries = options.nickRetries ?? 8;
    const timeoutMs = options.registerTimeoutMs ?? 15_000;
    const where = `${this.host}:${this.port}`;
    const loginFailed = (why: string, problem?: ConnectionProblem) =>
      new IrcConnectionError(`Cannot log in to ${where} as ${login?.account}: ${why}`, {
        problem,
      });
    await this.send("CAP", "LS", "302");
    await this.send("NICK", this.#nick);
    await this.send(
      "USER",
      options.user ?? this.#nick,
      "0",
      "*",
      options.realname ?? "shmooze client",
    );
    let attempt = 0;
    let seen = 0;
    let mechanisms = "";
    const deadline = Date.now() + timeoutMs;
    // Registration reads the queue without consuming it, so the caller still sees it all.
    while (true) {
      while (seen < this.#queue.length) {
        const message = this.#queue[seen++];
        const reason = message.params.at(-1) ?? "";
        switch (message.command) {
          case "CAP":
            await this.#onCap(message, wanted, login, loginFailed);
            break;
          case "AUTHENTICATE":
            if (login && message.params[0] === "+") {
              for (const chunk of plainChunks(login)) await this.send("AUTHENTICATE", chunk);
            }
            break;
          case "903":
          case "907":
            await this.send("CAP", "END");
            break;
          case "908":
            mechanisms = message.params[1] ?? "";
            break;
          case "904":
          case "905":
          case "906":
            throw loginFailed(...this.#loginRefusal(message.command, reason, mechanisms));
          case "433":
          case "436": {
            this.#nickRefusal ??= reason;
            if (++attempt > retries) {
              throw new IrcConnectionError(
                `${where} refused nick "${this.requestedNick}" and ${retries} variants: all in use`,
              );
            }
            this.#nick = `${this.requestedNick}_${attempt === 1 ? "" : attempt}`;
            await this.send("NICK", this.#nick);
            break;
          }
          case "432":
            throw new IrcConnectionError(`${where} refused nick "${this.#nick}": ${reason}`);
          case "465":
          case "ERROR":
            throw new IrcConnectionError(`${where} closed the connection: ${reason}`);
          case "001":
            // A server without CAP welcomes us without ever hearing of the login.
            if (login && this.#account === undefined) {
              throw loginFailed("the server does not negotiate capabilities (CAP), so no SASL");
            }
            this.#nick = message.params[0] ?? this.#nick;
            return;
        }
      }
      if (this.#ended) {
        throw new IrcConnectionError(`${where} closed the connection during registration`);
      }
      if (!(await this.#arrival(deadline))) {
        throw new IrcConnectionError(
          `${where} did not complete registration within ${timeoutMs} ms`,
        );
      }
    }
  }

  /** Why a login failed, from the server's 904–906 and what it says, and its problem if known. */
  #loginRefusal(
    numeric: string,
    reason: string,
    mechanisms: string,
  ): [string, ConnectionProblem?] {
    if (numeric === "905") return [`the server found the login too long (${reason})`];
    if (numeric === "906") return [`the server aborted the login (${reason})`];
    if (mechanisms !== "" && !mechanisms.split(",").includes("PLAIN")) {
      return [`the server does not accept PLAIN, only ${mechanisms} (${reason})`];
    }
    // shmooze serve (and other careful servers) refuse PLAIN in clear text off loopback.
    if (!this.#secure && /clear ?text|\bTLS\b|secure/i.test(reason)) {
      return [
        `the server refused SASL PLAIN on this unencrypted connection: it takes a password in clear text only from its own machine (server said: ${reason})`,
        "sasl-needs-tls",
      ];
    }
    return [reason];
  }

  async #onCap(
    message: IrcMessage,
    wanted: readonly string[],
    login: LoginOptions | undefined,
    loginFailed: (why: string) => IrcConnectionError,
  ): Promise<void> {
    const [, sub, ...rest] = message.params;
    const list = rest.at(-1) ?? "";
    if (sub === "LS") {
      for (const token of list.split(" ").filter(Boolean)) {
        const eq = token.indexOf("=");
        this.#offered.set(eq < 0 ? token : token.slice(0, eq), eq < 0 ? "" : token.slice(eq + 1));
      }
      // "CAP * LS * :…" means more LS lines follow.
      if (rest.length > 1 && rest[0] === "*") return;
      if (login) {
        const sasl = this.#offered.get("sasl");
        if (sasl === undefined) {
          throw loginFailed("the server does not offer SASL (no sasl capability in CAP LS)");
        }
        if (sasl !== "" && !sasl.split(",").includes("PLAIN")) {
          throw loginFailed(`the server does not accept SASL PLAIN, only ${sasl}`);
        }
      }
      const request = wanted.filter((cap) => this.#offered.has(cap));
      if (request.length > 0) await this.send("CAP", "REQ", request.join(" "));
      else await this.send("CAP", "END");
    } else if (sub === "ACK") {
      for (const cap of list.split(" ").filter(Boolean)) {
        if (cap.startsWith("-")) this.#enabled.delete(cap.slice(1));
        else this.#enabled.add(cap);
      }
      // With SASL, CAP END waits for the login's outcome (903), which holds registration.
      if (login && this.#enabled.has("sasl")) await this.send("AUTHENTICATE", "PLAIN");
      else await this.send("CAP", "END");
    } else if (sub === "NAK") {
      if (login) throw loginFailed(`the server refused the capabilities ${list}`);
      await this.send("CAP", "END");
    }
  }

  /** Reads CR LF lines, answers PING, tracks our nick and ISUPPORT, queues the rest. */
  async #readLoop(): Promise<void> {
    const decoder = new TextDecoder();
    // A server line may carry a full tag section (8191 bytes, IRCv3) besides its 512 bytes.
    const splitter = new LineSplitter(SERVER_TAGS + DEFAULT_LIMITS.maxLine);
    try {
      for await (const chunk of this.#conn.readable) {
        for (const line of splitter.split(chunk)) this.#receive(decoder.decode(line));
      }
    } catch (error) {
      // Closing the socket ourselves interrupts the read: that is not an error.
      if (!this.#quitting) this.#error = error instanceof Error ? error : new Error(String(error));
    } finally {
      this.#ended = true;
      this.#wakeAll();
    }
  }

  /** Keeps the user@host of `source` when it is `nick!user@host`. */
  #learnMask(source: string | undefined, nick: string | undefined): void {
    const match = /^([^!@\s]+)!([^!@\s]+@[^!@\s]+)$/.exec(source ?? "");
    if (match && match[1] === nick) this.#userHost = match[2];
  }

  #receive(line: string): void {
    const message = parseMessage(line);
    if (!message) return;
    if (message.command === "PING") {
      this.send("PONG", ...message.params).catch(() => {});
      return;
    }
    if (message.command === "NICK" && nickOf(message.source) === this.#nick) {
      this.#nick = message.params[0] ?? this.#nick;
    } else if (message.command === "JOIN" && nickOf(message.source) === this.#nick) {
      this.#learnMask(message.source, this.#nick);
    } else if (message.command === "001") {
      // Most servers end the welcome with the mask: "Welcome to … ann!ann@127.0.0.1".
      this.#learnMask(message.params.at(-1)?.split(" ").at(-1), message.params[0]);
    } else if (message.command === "396" && this.#userHost !== undefined) {
      // RPL_VISIBLEHOST: the server now shows another host (a cloak).
      const host = message.params[1];
      if (host) this.#userHost = `${this.#userHost.slice(0, this.#userHost.indexOf("@"))}@${host}`;
    } else if (message.command === "900") {
      this.#account = message.params[2];
    } else if (message.command === "005") {
      for (const token of message.params.slice(1, -1)) {
        const eq = token.indexOf("=");
        this.#isupport.set(eq < 0 ? token : token.slice(0, eq), eq < 0 ? "" : token.slice(eq + 1));
      }
    }
    this.#queue.push(message);
    this.#wakeAll();
  }
}
