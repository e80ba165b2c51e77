/**
 * What a typed line means: a slash command or text for the current channel. Parsing only;
 * {@link ChatSession.perform} carries the result out, and the menu builds the same actions.
 *
 * @module
 */
import { channelProblem, nickProblem } from "../chat/names.ts";

/** Something the user asked for. */
export type Action =
  | { kind: "say"; text: string }
  | { kind: "me"; text: string }
  | { kind: "msg"; target: string; text: string }
  | { kind: "join"; channel: string }
  | { kind: "part"; channel?: string; reason?: string }
  | { kind: "nick"; nick: string }
  | { kind: "who"; channel?: string }
  | { kind: "list" }
  | { kind: "history"; target?: string; count?: number }
  | { kind: "register"; password: string }
  | { kind: "reply"; to: MessageRef; text: string }
  | { kind: "react"; to: MessageRef; text: string }
  | { kind: "delete"; to?: MessageRef; reason?: string }
  | { kind: "markread"; target?: string }
  | { kind: "alwayson"; on: boolean }
  | { kind: "quit"; reason?: string }
  | { kind: "help" }
  | { kind: "nothing" };

/**
 * Which message a reply, a reaction or a deletion is about: the `n`th newest in the current
 * channel (1 = the last), or the newest one a nick sent (in a channel or privately).
 */
export type MessageRef = { back: number } | { nick: string };

/**
 * A typed line that cannot be carried out as written; the message says why.
 *
 * @example An unknown command is the user's mistake, with a hint
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputError, parseInput } from "./input.ts";
 *
 * assert.throws(() => parseInput("/frobnicate"), (error) => {
 *   assert.ok(error instanceof InputError);
 *   assert.equal(error.message, "unknown command /frobnicate; /help lists the commands");
 *   return true;
 * });
 * ```
 */
export class InputError extends Error {
  /**
   * Makes the error for one typed line.
   *
   * @param message What is wrong with the line.
   */
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

/**
 * The commands, as `/help` and `shmooze client --help` list them.
 *
 * @example Every command listed is one {@link parseInput} knows
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMMAND_HELP, parseInput } from "./input.ts";
 *
 * const commands = COMMAND_HELP.match(/^  \/[a-z]+/gm)!.map((command) => command.trim());
 * assert.equal(commands.length, 16);
 * for (const command of commands) {
 *   const args = { "/alwayson": "on", "/markread": "ann" }[command] ?? "ann hi";
 *   const line = `${command} ${args}`;
 *   assert.equal(parseInput(line).kind, command.slice(1));
 * }
 * ```
 */
export const COMMAND_HELP: string =
  `  TEXT                   Send TEXT to the current channel (//TEXT sends a line starting with /)
  /join #CHANNEL         Join a channel and make it the current one
  /part [#CHANNEL] [WHY] Leave a channel (default: the current one)
  /msg NICK TEXT         Send a private message (NICK may also be a channel)
  /me TEXT               Send an action (* nick TEXT) to the current channel
  /nick NEW              Change your nick
  /who [#CHANNEL]        List the users of a channel (default: the current one)
  /list                  List the server's channels
  /history [TARGET] [N]  Show the last N (default 20) messages of a channel or a private
                         conversation (default: the current channel); needs draft/chathistory
  /register PASSWORD     Make your current nick an account with this password (needs
                         draft/account-registration); log in later with --account
  /reply N|NICK TEXT     Answer a message: the Nth last in the current channel (1 = the
                         last), or NICK's last one; shown as a reply where the server has
                         message-tags, else sent as "NICK: TEXT"
  /react N|NICK TEXT     React to a message (an emoji or a word); needs message-tags
  /delete [N|NICK [WHY]] Delete a message: your own last one, the Nth last in the current
                         channel, or NICK's last one (yours, or anyone's in a channel you
                         operate), saying WHY if you like; needs draft/message-redaction
  /markread [TARGET]     Mark a channel or private conversation (default: the current
                         channel) read up to its last message shown, on all your devices;
                         needs an account and draft/read-marker
  /alwayson on|off       Keep your account in its channels while no device is connected
                         (NickServ SET ALWAYS-ON); needs an account
  /quit [REASON]         Leave the server and exit
  /help                  Show this list`;

/**
 * Whether a nick is acceptable to IRC servers: the RFC 2812 characters of
 * `src/chat/names.ts`, at any length (each server has its own NICKLEN, and says so).
 *
 * @param nick The nick.
 * @returns True when valid.
 *
 * @example Letters, digits and specials, not starting with a digit
 * ```ts
 * import assert from "node:assert/strict";
 * import { isValidNick } from "./input.ts";
 *
 * assert.ok(isValidNick("ann"));
 * assert.ok(isValidNick("[ann]_2"));
 * assert.ok(!isValidNick("9lives"));
 * assert.ok(!isValidNick("ann smith"));
 * ```
 */
export function isValidNick(nick: string): boolean {
  return nickProblem(nick, Infinity) === undefined;
}

/**
 * Normalises a channel name: adds `#` when missing, refuses spaces and commas.
 *
 * @param name What was typed.
 * @returns The channel name.
 * @throws {InputError} When it cannot be a channel name.
 *
 * @example Add the missing hash; refuse a space
 * ```ts
 * import assert from "node:assert/strict";
 * import { channelName, InputError } from "./input.ts";
 *
 * assert.equal(channelName("lobby"), "#lobby");
 * assert.equal(channelName("&local"), "&local");
 * assert.throws(() => channelName("two words"), InputError);
 * ```
 */
export function channelName(name: string): string {
  const channel = /^[#&]/.test(name) ? name : `#${name}`;
  // Other servers have &channels too; what may follow the prefix is the same rule as ours.
  if (channelProblem(`#${channel.slice(1)}`, Infinity) !== undefined) {
    throw new InputError(`"${name}" is not a channel name (like #lobby)`);
  }
  return channel;
}

function nickArgument(command: string, nick: string | undefined): string {
  if (!nick) throw new InputError(`${command} needs a nick`);
  if (!isValidNick(nick)) throw new InputError(`"${nick}" is not a valid nick`);
  return nick;
}

/**
 * Turns one typed line into an action.
 *
 * @param line The line, without its line break.
 * @returns The action.
 * @throws {InputError} For an unknown command or missing arguments.
 *
 * @example A private message, plain text, and a message that starts with a slash
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseInput } from "./input.ts";
 *
 * assert.deepEqual(parseInput("/msg ann see you at 5"), {
 *   kind: "msg",
 *   target: "ann",
 *   text: "see you at 5",
 * });
 * assert.deepEqual(parseInput("hello"), { kind: "say", text: "hello" });
 * assert.deepEqual(parseInput("//etc is a folder"), { kind: "say", text: "/etc is a folder" });
 * assert.deepEqual(parseInput("/join lobby"), { kind: "join", channel: "#lobby" });
 * assert.deepEqual(parseInput("/reply 2 me too"), {
 *   kind: "reply",
 *   to: { back: 2 },
 *   text: "me too",
 * });
 * assert.deepEqual(parseInput("/react bob 👍"), { kind: "react", to: { nick: "bob" }, text: "👍" });
 * assert.deepEqual(parseInput("/delete"), { kind: "delete", to: undefined, reason: undefined });
 * assert.deepEqual(parseInput("/delete 2 wrong window"), {
 *   kind: "delete",
 *   to: { back: 2 },
 *   reason: "wrong window",
 * });
 * assert.throws(() => parseInput("/msg ann"), /\/msg ann needs a message/);
 * ```
 */
export function parseInput(line: string): Action {
  if (line.trim() === "") return { kind: "nothing" };
  if (!line.startsWith("/")) return { kind: "say", text: line };
  if (line.startsWith("//")) return { kind: "say", text: line.slice(1) };
  const match = /^\/(\S+)\s*(.*)$/.exec(line)!;
  const command = match[1].toLowerCase();
  const rest = match[2];
  const words = rest.split(/\s+/).filter(Boolean);
  const after = (n: number) => rest.replace(new RegExp(`^(\\S+\\s+){${n}}`), "");
  switch (command) {
    case "join":
    case "j":
      if (!words[0]) throw new InputError("/join needs a channel, like /join #lobby");
      return { kind: "join", channel: channelName(words[0]) };
    case "part":
    case "leave": {
      if (words[0] && /^[#&]/.test(words[0])) {
        return { kind: "part", channel: words[0], reason: after(1) || undefined };
      }
      return { kind: "part", reason: rest || undefined };
    }
    case "msg":
    case "query": {
      const target = words[0];
      if (!target) throw new InputError("/msg needs a nick and a message, like /msg ann hello");
      if (!/^[#&]/.test(target)) nickArgument("/msg", target);
      const text = words.length > 1 ? after(1) : "";
      if (!text) throw new InputError(`/msg ${target} needs a message`);
      return { kind: "msg", target, text };
    }
    case "me":
      if (!rest) throw new InputError("/me needs some text, like /me waves");
      return { kind: "me", text: rest };
    case "nick":
      return { kind: "nick", nick: nickArgument("/nick", words[0]) };
    case "who":
    case "names":
      return { kind: "who", channel: words[0] ? channelName(words[0]) : undefined };
    case "list":
      return { kind: "list" };
    case "history": {
      let target: string | undefined;
      let count: number | undefined;
      for (const word of words.slice(0, 2)) {
        if (/^\d+$/.test(word)) count = Number(word);
        else target = word;
      }
      if (words.length > 2 || count === 0) {
        throw new InputError("usage: /history [#CHANNEL or NICK] [N], N at least 1");
      }
      return { kind: "history", target, count };
    }
    case "register":
      if (!rest) throw new InputError("/register needs a password, like /register PASSWORD");
      return { kind: "register", password: rest };
    case "reply":
    case "react": {
      const usage = `usage: /${command} N|NICK TEXT (N = 1 for the last message)`;
      const ref = words[0];
      const text = words.length > 1 ? after(1) : "";
      if (!ref || !text) throw new InputError(usage);
      if (/^\d+$/.test(ref)) {
        if (Number(ref) < 1) throw new InputError(usage);
        return { kind: command, to: { back: Number(ref) }, text };
      }
      return { kind: command, to: { nick: nickArgument(`/${command}`, ref) }, text };
    }
    case "delete": {
      const ref = words[0];
      const reason = words.length > 1 ? after(1) : undefined;
      if (ref === undefined) return { kind: "delete", to: undefined, reason };
      if (/^\d+$/.test(ref)) {
        if (Number(ref) < 1) {
          throw new InputError("usage: /delete [N|NICK [WHY]] (N = 1 for the last message)");
        }
        return { kind: "delete", to: { back: Number(ref) }, reason };
      }
      return { kind: "delete", to: { nick: nickArgument("/delete", ref) }, reason };
    }
    case "markread":
      if (words.length > 1) throw new InputError("usage: /markread [#CHANNEL or NICK]");
      return { kind: "markread", target: words[0] };
    case "alwayson": {
      const value = words[0]?.toLowerCase();
      if (words.length !== 1 || (value !== "on" && value !== "off")) {
        throw new InputError("usage: /alwayson on|off");
      }
      return { kind: "alwayson", on: value === "on" };
    }
    case "quit":
    case "exit":
      return { kind: "quit", reason: rest || undefined };
    case "help":
    case "?":
      return { kind: "help" };
    default:
      throw new InputError(`unknown command /${command}; /help lists the commands`);
  }
}
