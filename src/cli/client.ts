/**
 * `shmooze client`: the command line of the terminal chat client — server, TLS, nick,
 * account and channel — checked before anything connects; the chat itself is
 * src/client/terminal_client.ts.
 *
 * @module
 */
import { channelName, COMMAND_HELP, InputError, isValidNick } from "../client/input.ts";
import { MENU_CHOICES } from "../client/menu.ts";
import { IrcConnectionError, type TlsClientOptions } from "../client/irc_client.ts";
import { runTerminalClient } from "../client/terminal_client.ts";
import {
  CliError,
  intOption,
  parseCommandArgs,
  stringOption,
  UsageError,
  type Values,
} from "./_args.ts";
import type { Command } from "./command.ts";
import { PASSWORD_ENV, readLogin } from "./_password.ts";
import { paint } from "./logging.ts";

const options = {
  host: { type: "string" },
  port: { type: "string" },
  tls: { type: "boolean" },
  ca: { type: "string" },
  insecure: { type: "boolean" },
  nick: { type: "string" },
  account: { type: "string" },
  "password-file": { type: "string" },
  channel: { type: "string" },
  menu: { type: "boolean" },
  "no-color": { type: "boolean" },
} as const;

/** TLS from --tls, --ca and --insecure: undefined for plain TCP. */
function readTls(values: Values): TlsClientOptions | undefined {
  if (values.tls !== true && values.ca === undefined && values.insecure !== true) return undefined;
  if (values.insecure === true) {
    console.error(
      "warning: --insecure: the server's certificate is verified unless the runtime was started with --unsafely-ignore-certificate-errors; if it was, anyone on the path can read and change this chat",
    );
  }
  const ca = values.ca;
  if (ca === undefined) return {};
  try {
    return { caCerts: [Deno.readTextFileSync(String(ca))] };
  } catch (error) {
    throw new CliError(`Cannot read --ca "${ca}": ${(error as Error).message}`);
  }
}

/** A nick from the login name, so two people on one machine rarely collide. */
function defaultNick(): string {
  const login = (Deno.env.get("USER") ?? Deno.env.get("USERNAME") ?? "").replace(/[^\w-]/g, "");
  return isValidNick(login) ? login : "guest";
}

/**
 * `shmooze client`: chat from the terminal with a shmooze server or any IRC server.
 *
 * @example Mistakes on the command line are refused before connecting
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientCommand } from "./client.ts";
 *
 * assert.match(clientCommand.help, /^Usage: shmooze client \[options\]/);
 * await assert.rejects(clientCommand.run(["--nick", "9lives"]), {
 *   name: "UsageError",
 *   message: /^--nick "9lives" is not a valid nick/,
 * });
 * await assert.rejects(clientCommand.run(["--nick", "ann", "--port", "0"]), {
 *   name: "UsageError",
 *   message: '--port must be a whole number from 1 to 65535, not "0"',
 * });
 * await assert.rejects(clientCommand.run(["--channel", "a b"]), /^UsageError: --channel: /);
 * ```
 */
/**
 * What the user can do about a failed connection, in this command's flags (the client
 * library says what failed and why; the flags are this program's).
 *
 * @param error The failure.
 * @param host The host as given with --host.
 * @returns The hint, or undefined when there is nothing to add.
 */
function connectionHint(error: IrcConnectionError, host: string): string | undefined {
  switch (error.problem) {
    case "not-tls":
      return `connect to its TLS port (shmooze serve prints "listening with TLS on …"), or drop --tls`;
    case "tls-ca-as-leaf": {
      const altName = `${/^[\d.]+$|:/.test(host) ? "IP" : "DNS"}:${host}`;
      return `on the server, run shmooze serve --tls-self-signed and pass the CA file it prints with --ca, or make a certificate that is no CA: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=${host} -addext subjectAltName=${altName} -addext basicConstraints=critical,CA:FALSE -keyout key.pem -out cert.pem`;
    }
    case "tls-wrong-name":
      return `connect with a name it was made for, or give the server that name (shmooze serve --tls-self-signed --tls-name ${host})`;
    case "tls-untrusted":
      return "for a self-signed server pass its certificate or the CA that signed it with --ca FILE (shmooze serve --tls-self-signed prints its path)";
    case "sasl-needs-tls":
      return "connect with --tls";
    default:
      return undefined;
  }
}

export const clientCommand: Command = {
  name: "client",
  summary: "Chat from the terminal with a server",
  help: `Usage: shmooze client [options]

Connects to an IRC server (shmooze serve, or any other such as ngircd), joins a channel and
shows the conversation above a prompt. Plain lines go to the current channel. A line too long
for one IRC message (the server's LINELEN, else 512 bytes, less the "nick!user@host PRIVMSG
target" the server puts in front) is sent as several, cut between words. Control characters
in what others send (escape sequences, C1 controls, bidi overrides) are shown escaped, as ^[
or \\u009b, never passed to the terminal.

Options:
  --host HOST        Server host (default: 127.0.0.1)
  --port PORT        Server port (default: 54000, with TLS 54443)
  --tls              Connect with TLS, verifying the server's certificate against the
                     built-in (Mozilla) root certificates
  --ca FILE          With TLS, trust this PEM certificate instead (the CA file shmooze serve
                     --tls-self-signed prints, a private CA's, or a self-signed server's own
                     certificate that is no CA); implies --tls
  --insecure         With TLS, accept a certificate that cannot be verified. Deno has no
                     per-connection switch for this: it takes effect only when the runtime
                     runs with --unsafely-ignore-certificate-errors (deno run
                     --unsafely-ignore-certificate-errors=HOST main.ts client --insecure …);
                     otherwise the certificate is still checked. Prefer --ca FILE; implies --tls
  --nick NAME        Nick to use; when taken, NAME_, NAME_2 … are tried (default: the
                     --account name, else $USER, else guest)
  --account NAME     Log in to this account with SASL PLAIN before joining, so a registered
                     nick is yours and /history NICK shows your private conversations
                     (default: the nick, when --password-file or ${PASSWORD_ENV} is given).
                     Several clients logged in to one account share its nick and channels
                     where the server allows it (shmooze serve does). On joining, each
                     channel's unread messages (those after the account's read marker) are
                     shown under a line that counts them, and so are private conversations
  --password-file FILE
                     Read the password from FILE (its first line). Otherwise it comes from
                     the environment variable ${PASSWORD_ENV}, or, on a terminal, is asked
                     for without echo; never from the command line. A refused login ends the
                     client with the server's reason (exit 1). shmooze serve takes a
                     password over plain TCP only from its own machine: elsewhere use --tls
  --channel CHANNEL  Channel to join on arrival (default: #lobby)
  --menu             Numbered menu instead of commands:
${MENU_CHOICES.map((label, i) => `                       ${i + 1}) ${label}`).join("\n")}
  --no-color         No colours (also off with NO_COLOR set or output not a terminal)

Commands:
${COMMAND_HELP}

Output, one line per event, each starting with the time (HH:MM:SS, the server's time when it
sends one; history from another day also shows the date):
  HH:MM:SS connected to HOST:PORT as NICK
  HH:MM:SS logged in as ACCOUNT           after --account, or after /register
  HH:MM:SS joined #CHANNEL                you joined; "NICK joined #CHANNEL" for others
  HH:MM:SS [#CHANNEL] <NICK> TEXT         a channel message ("* NICK TEXT" for /me)
  HH:MM:SS [private] <NICK> TEXT          a private message to you
  HH:MM:SS [to NICK] <YOU> TEXT           a private message you sent (or another device of
                                          your account sent)
  HH:MM:SS [#CHANNEL] <NICK> (reply to NICK2: "TEXT2") TEXT
                                          a reply; "reply to an earlier message" when the
                                          message it answers was not shown here
  HH:MM:SS [#CHANNEL] NICK reacted TEXT to NICK2: "TEXT2"
                                          a reaction (typing notices are not shown)
  HH:MM:SS N unread in #CHANNEL since HH:MM:SS:
                                          on joining, then the unread messages ("from NICK"
                                          for a private conversation; "nothing unread in
                                          #CHANNEL since …" when all is read)
  HH:MM:SS TARGET read up to HH:MM:SS [on another device]
                                          the account's read marker, after /markread or
                                          when another device of the account moved it
  HH:MM:SS NICK left #CHANNEL (REASON) | NICK quit (REASON) | NICK is now known as NEW
  HH:MM:SS users in #CHANNEL (N): NICK …  from /who and on joining
  HH:MM:SS history of TARGET: … end of history of TARGET (N messages)
  HH:MM:SS error: WHAT                    an error from the server or a mistaken command
  HH:MM:SS disconnected                   after /quit or the end of the input

With standard input not a terminal (a pipe or a file), each input line is sent or carried out
as if typed, and the client quits when the input ends (QUIT, then waits up to 5 s for the
server to close). A lost connection is reported on standard error with exit code 1.

Logged in to an account on a server with read markers (draft/read-marker), the client moves
the account's marker of a conversation when you say /markread, and of every conversation up
to its last message shown when you quit on purpose (/quit, Ctrl-C, Ctrl-D or the end of the
input); a lost connection moves none, so the next login shows what arrived since.

Examples:
  shmooze client --nick ann
  shmooze client --host chat.example.org --port 6667 --channel '#dev'
  shmooze client --menu --nick bob
  ${PASSWORD_ENV}=… shmooze client --nick ann --account ann
  shmooze client --host chat.example.org --tls --nick ann --password-file ~/.shmooze-password
  shmooze client --host chat.example.org --tls --ca ./server-cert.pem
  printf 'hello\\n/msg ann hi\\n' | shmooze client --nick bot

Exit codes: 0 after /quit or the end of the input, 1 when the server cannot be reached,
refuses the login, or the connection is lost, 2 for a mistake in the command line.`,
  async run(args) {
    const { values } = parseCommandArgs("client", args, options);
    const host = stringOption(values, "host", "127.0.0.1");
    const tls = readTls(values);
    const port = intOption(values, "port", tls ? 54443 : 54000, { min: 1, max: 65535 });
    // Logged in, the account's name is the nick to ask for: the one its other devices share.
    const account = values.account === undefined ? "" : String(values.account);
    const nick = stringOption(values, "nick", isValidNick(account) ? account : defaultNick());
    if (!isValidNick(nick)) {
      throw new UsageError(
        `--nick "${nick}" is not a valid nick: use letters, digits and - _ [ ] { } \\ | ^ \` (not starting with a digit or -)`,
      );
    }
    let channel: string;
    try {
      channel = channelName(stringOption(values, "channel", "#lobby"));
    } catch (error) {
      if (error instanceof InputError) throw new UsageError(`--channel: ${error.message}`);
      throw error;
    }
    const login = await readLogin(values, nick);
    const plain = values["no-color"] === true;
    try {
      await runTerminalClient({
        host,
        port,
        tls,
        nick,
        login,
        channel,
        menu: values.menu === true,
        style: (style, text) => plain ? text : paint(style, text),
      });
    } catch (error) {
      if (error instanceof IrcConnectionError) {
        const hint = connectionHint(error, host);
        throw new CliError(hint === undefined ? error.message : `${error.message}; ${hint}`);
      }
      throw error;
    }
    return 0;
  },
};
