/**
 * Account test helpers over a real server: a server with a temporary data directory, a
 * client that registers its nick as an account, and SASL PLAIN by hand.
 */
import { IrcTestClient, type Received, withServer } from "./_irc.ts";
import type { ChatServer, ServerOptions } from "../src/server/server.ts";

/** The password the helpers register accounts with. */
export const PASSWORD = "correct horse battery";

/**
 * Runs `body` against an in-process server with a temporary data directory (accounts and
 * history), removed after.
 *
 * @param options Server options.
 * @param body The test.
 */
export async function withAccounts(
  options: ServerOptions,
  body: (server: ChatServer, dataDir: string) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-accounts-irc-test-" });
  try {
    await withServer({ dataDir, ...options }, (server) => body(server, dataDir));
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

/**
 * Registers `nick` as an account (password {@link PASSWORD}) over a fresh connection.
 *
 * @param port The server's port.
 * @param nick The nick.
 * @param options The capabilities to ask for, and the address to connect to (and so to
 *   register from; default 127.0.0.1).
 * @returns The logged-in client.
 */
export async function registeredUser(
  port: number,
  nick: string,
  options: { caps?: string[]; hostname?: string } = {},
): Promise<IrcTestClient> {
  const client = await IrcTestClient.connect(port, options.hostname ?? "127.0.0.1");
  await client.register(nick, { caps: options.caps });
  await client.send(`REGISTER * * :${PASSWORD}`);
  await client.waitFor((m) => m.command === "REGISTER" && m.params[0] === "SUCCESS");
  await client.waitFor("900");
  return client;
}

/**
 * The `AUTHENTICATE` payload of SASL PLAIN.
 *
 * @param account The account.
 * @param password The password.
 * @returns base64 of `NUL account NUL password`.
 */
export function plain(account: string, password: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(`\0${account}\0${password}`)));
}

/**
 * Starts registration with SASL PLAIN as `nick` and returns the numeric that ended the
 * exchange (900 logged in, or 904).
 *
 * @param client A connected, unregistered client.
 * @param nick The nick and account.
 * @param password The password.
 * @param timeoutMs How long to wait for the answer (a throttled attempt waits its turn).
 * @returns The 900 or 904 line.
 */
export async function saslLogin(
  client: IrcTestClient,
  nick: string,
  password: string,
  timeoutMs = 10_000,
): Promise<Received> {
  await client.send("CAP LS 302");
  await client.send(`NICK ${nick}`);
  await client.send(`USER ${nick} 0 * :${nick}`);
  await client.send("CAP REQ :sasl");
  await client.waitFor((m) => m.command === "CAP" && m.params[1] === "ACK");
  await client.send("AUTHENTICATE PLAIN");
  const next = await client.waitFor((m) => m.command === "AUTHENTICATE" || m.command === "904");
  if (next.command === "904") return next;
  await client.send(`AUTHENTICATE ${plain(nick, password)}`);
  return await client.waitFor((m) => ["900", "904"].includes(m.command), timeoutMs);
}

/** Options for {@link connectDevice}. */
export interface DeviceOptions {
  /** The nick the client asks for. @default {the account} */
  nick?: string;
  /** Capabilities to request besides `sasl`. */
  caps?: string[];
  /** The password. @default {PASSWORD} */
  password?: string;
  /** Log in with this session token (SASL IRCV3BEARER) instead of the password. */
  token?: string;
}

/**
 * Connects one more device of an account: CAP LS, NICK, USER, CAP REQ, SASL (PLAIN, or
 * IRCV3BEARER with a token), CAP END; waits for the welcome (001) and the end of the MOTD.
 * The client's `nick` is set from the 001 (the account's user's nick when it is present).
 *
 * @param port The server's port.
 * @param account The account.
 * @param options Nick, capabilities, password or token.
 * @returns The registered client, and every line it received up to the end of the MOTD.
 */
export async function connectDevice(
  port: number,
  account: string,
  options: DeviceOptions = {},
): Promise<{ client: IrcTestClient; welcome: Received[] }> {
  const client = await IrcTestClient.connect(port);
  await client.send("CAP LS 302");
  await client.send(`NICK ${options.nick ?? account}`);
  await client.send(`USER ${account} 0 * :${account}`);
  await client.send(`CAP REQ :${["sasl", ...options.caps ?? []].join(" ")}`);
  await client.waitFor((m) => m.command === "CAP" && m.params[1] === "ACK");
  const payload = options.token === undefined
    ? plain(account, options.password ?? PASSWORD)
    : btoa(`\0shmooze\0${options.token}`);
  await client.send(`AUTHENTICATE ${options.token === undefined ? "PLAIN" : "IRCV3BEARER"}`);
  await client.waitFor("AUTHENTICATE");
  await client.send(`AUTHENTICATE ${payload}`);
  await client.waitFor("903");
  await client.send("CAP END");
  const welcome: Received[] = [];
  await client.waitFor((m) => {
    welcome.push(m);
    return m.command === "376" || m.command === "422";
  });
  client.nick = welcome.find((m) => m.command === "001")!.params[0];
  return { client, welcome };
}
