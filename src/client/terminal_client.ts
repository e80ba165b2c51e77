/**
 * The terminal chat client: connects, joins a channel, then runs two loops side by side —
 * one reads the server (the seeds' receive thread), one reads the keyboard or a pipe — so
 * messages appear while the user types.
 *
 * @module
 */
import { escapeControls } from "../chat/terminal_text.ts";
import { InputError, parseInput } from "./input.ts";
import { Menu } from "./menu.ts";
import { Screen } from "./_screen.ts";
import { ChatSession, type Style } from "./_session.ts";
import {
  IrcClient,
  IrcConnectionError,
  type LoginOptions,
  type TlsClientOptions,
} from "./irc_client.ts";

/** Options for {@link runTerminalClient}. */
export interface TerminalClientOptions {
  /** Server host. */
  host: string;
  /** Server port. */
  port: number;
  /** Connect with TLS. */
  tls?: TlsClientOptions;
  /** The nick to ask for. */
  nick: string;
  /** Log in to this account (SASL PLAIN) before registering. */
  login?: LoginOptions;
  /** The channel joined on arrival. */
  channel: string;
  /** Show the numbered menu instead of the command line. @default {false} */
  menu?: boolean;
  /** Colours text; the default leaves it plain. */
  style?: (style: Style, text: string) => string;
  /** Whether standard input is a terminal. @default {Deno.stdin.isTerminal()} */
  interactive?: boolean;
}

/**
 * Runs the client until the user quits, the input ends, or the connection is lost.
 *
 * @param options Server, nick, channel and presentation.
 * @returns When the client has quit.
 * @throws {IrcConnectionError} When the server cannot be reached, refuses us, or the
 * connection is lost.
 *
 * @example Chat from standard input until it ends (not run as a test: it reads stdin)
 * ```ts ignore
 * import { runTerminalClient } from "./terminal_client.ts";
 *
 * await runTerminalClient({ host: "127.0.0.1", port: 54000, nick: "ann", channel: "#lobby" });
 * ```
 */
export async function runTerminalClient(options: TerminalClientOptions): Promise<void> {
  const { host, port } = options;
  const client = await IrcClient.connect({
    host,
    port,
    nick: options.nick,
    tls: options.tls,
    login: options.login,
  });
  const screen = new Screen(options.interactive ?? Deno.stdin.isTerminal());
  const session = new ChatSession(client, {
    print: (line) => screen.print(line),
    style: options.style ?? ((_, text) => text),
  });
  const menu = options.menu ? new Menu(() => session.current) : undefined;
  const promptText = () => menu?.prompt ?? `${session.current ?? "(no channel)"}> `;
  session.onCurrentChange = () => screen.prompt(promptText());
  // shmooze serve refuses a registered nick with 433 too; its text says so.
  const registered = /regist/i.test(client.nickRefusal ?? "")
    ? ` (nick ${options.nick} is registered to an account: log in with --account)`
    : "";
  const taken = client.nick === options.nick
    ? ""
    : client.nickRefusal !== undefined
    ? registered || ` (nick ${options.nick} is taken)`
    : client.account !== undefined
    // A server with multiclient gives a logged-in connection its account's nick, no 433.
    ? ` (the nick of account ${escapeControls(client.account)}, shared by its connections)`
    : " (the server's choice)";
  session.note(
    `connected to ${host}:${port} as ${escapeControls(client.nick)}${taken}`,
    "green",
  );

  const receiving = (async () => {
    for await (const message of client.messages()) session.handle(message);
  })();
  let quitReason = "";
  const typing = (async () => {
    await session.start();
    await session.perform({ kind: "join", channel: options.channel });
    if (menu && screen.interactive) { for (const line of menu.lines) screen.print(line); }
    screen.prompt(promptText());
    for await (const line of screen.lines(!menu)) {
      try {
        const action = menu ? menu.input(line) : parseInput(line);
        if (menu && action.kind === "help") {
          for (const line of menu.lines) screen.print(line);
        } else if (await session.perform(action)) {
          if (action.kind === "quit") quitReason = action.reason ?? "";
          return;
        }
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        session.error(error.message);
      }
      screen.prompt(promptText());
    }
  })();

  try {
    await Promise.race([receiving, typing]);
  } catch (error) {
    // A send that fails because the connection is gone is reported as the lost connection.
    if (!client.ended) throw error;
  }
  if (client.ended && !client.quitting) {
    screen.close();
    const why = client.error ? `: ${client.error.message}` : "";
    throw new IrcConnectionError(`Lost the connection to ${host}:${port}${why}`);
  }
  session.markAllRead();
  await client.quit(quitReason);
  await receiving;
  session.note("disconnected");
  screen.close();
}
