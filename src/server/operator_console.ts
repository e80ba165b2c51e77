/**
 * The operator console of seed 002: what the operator types on `serve`'s standard input is
 * said in #lobby as the server, and a few slash commands manage the server.
 *
 * @module
 */
import type { ChatServer } from "./server.ts";
import { LineSplitter } from "../irc/line_splitter.ts";
import { escapeControls } from "../chat/terminal_text.ts";

/** Options for {@link runConsole}. */
export interface ConsoleOptions {
  /** Where the operator's lines come from. */
  input: ReadableStream<Uint8Array>;
  /**
   * Whether a person is typing (standard input is a terminal): then chat messages are
   * shown, and end of input (Ctrl-D) shuts the server down. Otherwise end of input only
   * ends the console, so the server keeps running as a daemon.
   */
  interactive: boolean;
  /**
   * Writes one line of output. The console has already shown its control characters
   * escaped (nicks, channels and messages come from anyone on the network).
   */
  print(line: string): void;
}

/**
 * The console's help text.
 *
 * @example One line per command, after the rule for plain lines
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONSOLE_HELP } from "./operator_console.ts";
 *
 * const lines = CONSOLE_HELP.split("\n");
 * assert.match(lines[0], /a line without a slash is said in #lobby/);
 * assert.deepEqual(lines.slice(1).map((line) => line.trim().split(" ")[0]), [
 *   "/who",
 *   "/kick",
 *   "/shutdown",
 *   "/help",
 * ]);
 * ```
 */
export const CONSOLE_HELP =
  `Operator console — a line without a slash is said in #lobby as *server*.
  /who                 list connected users
  /kick NICK [REASON]  disconnect a user
  /shutdown            tell every client and stop the server
  /help                this text`;

/**
 * Runs the console until its input ends or the operator shuts the server down.
 *
 * @param server The running server.
 * @param options Input, output and whether a person is typing.
 * @returns Resolves when the console stops reading.
 *
 * @example Script the console: say something, list users, kick, shut down
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./server.ts";
 * import { runConsole } from "./operator_console.ts";
 *
 * const server = await startServer({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   dataDir: false,
 *   status: false,
 * });
 * const said = new Promise<string>((resolve) => {
 *   server.hub.onMessage = (m) => resolve(`${m.target} <${m.sender}> ${m.text}`);
 * });
 * const typed = "hello from the console\n/who\n/kick b\x1bob\n/shutdown\n";
 * const printed: string[] = [];
 * await runConsole(server, {
 *   input: ReadableStream.from([new TextEncoder().encode(typed)]),
 *   interactive: false,
 *   print: (line) => printed.push(line),
 * });
 * await server.finished; // /shutdown closed the server
 * assert.deepEqual(printed, ["0 user(s) connected", "no user named b^[ob", "shutting down"]);
 * assert.equal(await said, "#lobby <*server*> hello from the console");
 * ```
 */
export async function runConsole(server: ChatServer, options: ConsoleOptions): Promise<void> {
  const print = (line: string) => options.print(escapeControls(line));
  if (options.interactive) {
    server.hub.onMessage = (m) => print(`${m.target} <${m.sender}> ${m.text}`);
  }
  const splitter = new LineSplitter(64 * 1024);
  const decoder = new TextDecoder();
  const reader = options.input.getReader();
  server.finished.then(() => reader.cancel().catch(() => {}));
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const bytes of splitter.split(value)) {
        if (!handle(server, decoder.decode(bytes).trim(), print)) return;
      }
    }
  } catch {
    // The input failed or was cancelled at shutdown: nothing more to read.
  } finally {
    reader.releaseLock();
  }
  if (options.interactive) await server.close();
}

/** Runs one console line; false when the console should stop. */
function handle(server: ChatServer, line: string, print: (line: string) => void): boolean {
  if (line === "") return true;
  if (!line.startsWith("/")) {
    server.announce(line).then((sent) => {
      if (!sent) print("not sent: history could not store it (see the log)");
    });
    return true;
  }
  const [command, nick, ...rest] = line.slice(1).split(/\s+/);
  switch (command.toLowerCase()) {
    case "who": {
      const members = [...server.hub.members.values()];
      print(`${members.length} user(s) connected`);
      for (const member of members) {
        const channels = [...member.channels].map((key) => server.hub.channels.get(key)?.name)
          .join(" ");
        print(`  ${member.nick} (${member.transport} ${member.host}) ${channels}`);
      }
      return true;
    }
    case "kick": {
      if (!nick) {
        print("usage: /kick NICK [REASON]");
        return true;
      }
      const reason = rest.length > 0 ? rest.join(" ") : "no reason given";
      const kicked = server.hub.kick(nick, `Kicked by operator: ${reason}`);
      print(kicked ? `kicked ${nick}` : `no user named ${nick}`);
      return true;
    }
    case "shutdown":
      print("shutting down");
      server.close();
      return false;
    case "help":
      for (const helpLine of CONSOLE_HELP.split("\n")) print(helpLine);
      return true;
    default:
      print(`unknown command /${command}; /help lists the commands`);
      return true;
  }
}
