/**
 * The operator console of seed 002: what the operator types on `serve`'s standard input is
 * said in #lobby as the server, and slash commands manage the server — the same powers IRC
 * operators have (`ServerModeration`), with the same audit lines.
 *
 * @module
 */
import type { ChatServer } from "./server.ts";
import { LineSplitter } from "../irc/line_splitter.ts";
import { escapeControls } from "../chat/terminal_text.ts";
import { banLength } from "../chat/server_moderation.ts";

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
 * @example The commands, after the rule for plain lines
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONSOLE_HELP } from "./operator_console.ts";
 *
 * const lines = CONSOLE_HELP.split("\n");
 * assert.match(lines[0], /a line without a slash is said in #lobby/);
 * const commands = lines.map((line) => line.trim()).filter((line) => line.startsWith("/"));
 * assert.deepEqual(commands.map((line) => line.split(" ")[0]), [
 *   "/who",
 *   "/kick",
 *   "/kill",
 *   "/kline",
 *   "/unkline",
 *   "/klines",
 *   "/chghost",
 *   "/wallops",
 *   "/opers",
 *   "/rehash",
 *   "/shutdown",
 *   "/help",
 * ]);
 * ```
 */
export const CONSOLE_HELP =
  `Operator console — a line without a slash is said in #lobby as *server*.
  /who                        list connected users
  /kick NICK [REASON]         disconnect a user
  /kill NICK [REASON]         disconnect a user as KILL does ("Killed (server (REASON))")
  /kline [TIME] MASK [REASON] ban nick!user@host, user@host, ~a:ACCOUNT or a user's host
                              from the server; TIME is minutes or 30s, 1h30m, 2d (default:
                              no expiry); matching users are disconnected
  /unkline MASK               lift a server ban
  /klines                     list the server bans
  /chghost NICK USER HOST     give a user another user name and host (IRCv3 chghost)
  /wallops TEXT               write to every operator and +w user
  /opers                      list the operators, configured and online
  /rehash                     re-read --oper-file (a bad file keeps the old list)
  /shutdown                   tell every client and stop the server
  /help                       this text`;

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
  const [command, ...words] = line.slice(1).split(/\s+/);
  const [nick, ...rest] = words;
  const desk = server.moderation;
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
      const quit = `Kicked by operator: ${reason}`;
      const done = (kicked: boolean | string) =>
        print(
          kicked === true
            ? `kicked ${nick}`
            : kicked
            ? `not kicked: ${clusterProblem(kicked)}`
            : `no user named ${nick}`,
        );
      if (server.cluster === undefined) done(server.hub.kick(nick, quit));
      else server.cluster.kill("console", nick, quit, reason).then(done);
      return true;
    }
    case "kill": {
      if (!nick) {
        print("usage: /kill NICK [REASON]");
        return true;
      }
      const reason = rest.join(" ") || "No reason given";
      const done = (killed: boolean | string) =>
        print(
          killed === true
            ? `killed ${nick}`
            : killed
            ? `not killed: ${clusterProblem(killed)}`
            : `no user named ${nick}`,
        );
      if (server.cluster === undefined) done(desk.kill("console", nick, reason));
      else {
        const { quit, audit } = desk.killReason("console", reason);
        server.cluster.kill("console", nick, quit, audit).then(done);
      }
      return true;
    }
    case "kline":
      kline(server, words, print);
      return true;
    case "unkline":
      if (!nick) {
        print("usage: /unkline MASK");
        return true;
      }
      if (server.cluster !== undefined) {
        server.cluster.unban("console", nick).then((lifted) =>
          print(
            typeof lifted === "object"
              ? `lifted the ban on ${lifted.mask}`
              : lifted === undefined || lifted === "invalid"
              ? `no server ban on ${nick}`
              : `not lifted: ${clusterProblem(lifted)}`,
          )
        );
        return true;
      }
      try {
        const lifted = desk.unban("console", nick);
        print(lifted ? `lifted the ban on ${lifted.mask}` : `no server ban on ${nick}`);
      } catch (error) {
        print(`not lifted: the change could not be stored: ${(error as Error).message}`);
      }
      return true;
    case "klines": {
      const bans = desk.bans.list();
      print(`${bans.length} server ban(s)`);
      for (const ban of bans) {
        const until = ban.expiresAt === undefined
          ? "permanent"
          : `${banLength(ban)}, until ${new Date(ban.expiresAt).toISOString()}`;
        print(`  ${ban.mask} (${until}) set by ${ban.setBy}: ${ban.reason}`);
      }
      return true;
    }
    case "chghost": {
      const [user, host] = rest;
      if (!nick || user === undefined || host === undefined || rest.length > 2) {
        print("usage: /chghost NICK USER HOST");
        return true;
      }
      const outcome = desk.chghost("console", nick, user, host);
      print(outcome.ok ? `${nick} is now ${outcome.mask}` : outcome.problem);
      return true;
    }
    case "wallops": {
      const text = words.join(" ");
      if (text === "") {
        print("usage: /wallops TEXT");
        return true;
      }
      if (server.cluster === undefined) {
        print(`wallops sent to ${desk.wallops("console", text)} user(s)`);
      } else {
        server.cluster.wallops("console", text).then((reached) =>
          print(
            typeof reached === "number"
              ? `wallops sent to every node (${reached} user(s) on this one)`
              : `not sent: ${clusterProblem(reached)}`,
          )
        );
      }
      return true;
    }
    case "opers": {
      const names = desk.operators.names;
      print(`${names.length} operator(s) configured${names.length ? `: ${names.join(", ")}` : ""}`);
      for (const member of desk.online()) print(`  ${member.nick} is oper ${member.oper}`);
      return true;
    }
    case "rehash": {
      const outcome = desk.rehash("console");
      print(
        outcome.ok
          ? `${outcome.operators} operator(s) from ${desk.operFile}`
          : `rehash failed, keeping ${outcome.operators} operator(s): ${outcome.error}`,
      );
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

/** `/kline [TIME] MASK [REASON]`: bans, and says what it did. */
function kline(server: ChatServer, words: string[], print: (line: string) => void): void {
  if (words.length === 0) {
    print("usage: /kline [TIME] MASK [REASON]");
    return;
  }
  if (server.cluster !== undefined) {
    // Another node's user's address is known to its node alone, which makes the mask.
    const request = server.cluster.banRequest(words);
    if ("problem" in request) {
      print(request.problem);
      return;
    }
    // Each node disconnects its own users the ban matches, and says so in its audit lines.
    server.cluster.ban("console", request).then((ban) =>
      print(
        typeof ban === "object"
          ? `banned ${ban.mask} (${banLength(ban)}): ${ban.reason}`
          : `not banned: ${clusterProblem(ban)}`,
      )
    );
    return;
  }
  const request = server.moderation.banRequest(words);
  if ("problem" in request) {
    print(request.problem);
    return;
  }
  try {
    const { ban, disconnected } = server.moderation.ban("console", request);
    const whom = disconnected.length === 0 ? "" : `; disconnected ${disconnected.join(", ")}`;
    print(`banned ${ban.mask} (${banLength(ban)}): ${ban.reason}${whom}`);
  } catch (error) {
    print(`not banned: the ban could not be stored: ${(error as Error).message}`);
  }
}

/** Why the cluster did not do what the console asked, in words. */
function clusterProblem(code: string): string {
  switch (code) {
    case "invalid":
      return "the line cannot be sent to the cluster (too long, or a character it refuses)";
    case "unstored":
      return "this server could not store it (see the log); the other nodes may have";
    case "no-such-nick":
      return "nobody had that nick when the cluster applied it";
    default:
      return "the cluster could not be reached (see the log)";
  }
}
