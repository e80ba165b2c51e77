/**
 * IRC messages (RFC 1459/2812 framing with IRCv3 message tags): one parser and one
 * formatter shared by the server, the client, the bridge and the benchmarks.
 *
 * @module
 */

/** One IRC message. */
export interface IrcMessage {
  /** IRCv3 tags; a tag without a value maps to `""`. */
  tags: Record<string, string>;
  /** The prefix without its colon (`nick!user@host` or a server name), if any. */
  source?: string;
  /** The command, upper-cased (`PRIVMSG`), or a three-digit numeric (`001`). */
  command: string;
  /** Parameters; the last one may contain spaces. */
  params: string[];
}

const TAG_ESCAPES: Record<string, string> = {
  ":": ";",
  s: " ",
  "\\": "\\",
  r: "\r",
  n: "\n",
};

/**
 * Unescapes an IRCv3 tag value (`\s` → space, `\:` → `;` …).
 *
 * @param value The raw value.
 * @returns The value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unescapeTagValue } from "./message.ts";
 *
 * assert.equal(unescapeTagValue("a\\sb\\:c"), "a b;c");
 * assert.equal(unescapeTagValue("trailing\\"), "trailing");
 * ```
 */
export function unescapeTagValue(value: string): string {
  if (!value.includes("\\")) return value;
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === "\\") {
      const next = value[++i];
      if (next === undefined) break;
      out += TAG_ESCAPES[next] ?? next;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * Escapes an IRCv3 tag value.
 *
 * @param value The value.
 * @returns The escaped value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeTagValue, unescapeTagValue } from "./message.ts";
 *
 * assert.equal(escapeTagValue("a b;c\\"), "a\\sb\\:c\\\\");
 * assert.equal(unescapeTagValue(escapeTagValue("x\r\ny")), "x\r\ny");
 * ```
 */
export function escapeTagValue(value: string): string {
  return value.replace(
    /[\\; \r\n]/g,
    (ch) =>
      ch === "\\" ? "\\\\" : ch === ";" ? "\\:" : ch === " " ? "\\s" : ch === "\r" ? "\\r" : "\\n",
  );
}

/**
 * Parses one line (without CR LF). Returns undefined when the line has no command.
 *
 * @param line The line.
 * @returns The message, or undefined for an empty or command-less line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMessage } from "./message.ts";
 *
 * const m = parseMessage("@time=2026-01-01T00:00:00.000Z :ann!a@h privmsg #lobby :hi there");
 * assert.deepEqual(m, {
 *   tags: { time: "2026-01-01T00:00:00.000Z" },
 *   source: "ann!a@h",
 *   command: "PRIVMSG",
 *   params: ["#lobby", "hi there"],
 * });
 * assert.equal(parseMessage(":ann!a@h"), undefined);
 * ```
 */
export function parseMessage(line: string): IrcMessage | undefined {
  let pos = 0;
  const tags: Record<string, string> = {};
  const skipSpaces = () => {
    while (line[pos] === " ") pos++;
  };
  if (line[0] === "@") {
    const end = line.indexOf(" ");
    if (end < 0) return undefined;
    for (const part of line.slice(1, end).split(";")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      if (eq < 0) tags[part] = "";
      else tags[part.slice(0, eq)] = unescapeTagValue(part.slice(eq + 1));
    }
    pos = end;
    skipSpaces();
  }
  let source: string | undefined;
  if (line[pos] === ":") {
    const end = line.indexOf(" ", pos);
    if (end < 0) return undefined;
    source = line.slice(pos + 1, end);
    pos = end;
    skipSpaces();
  }
  let end = line.indexOf(" ", pos);
  if (end < 0) end = line.length;
  const command = line.slice(pos, end).toUpperCase();
  if (command === "") return undefined;
  pos = end;
  const params: string[] = [];
  while (pos < line.length) {
    skipSpaces();
    if (pos >= line.length) break;
    if (line[pos] === ":") {
      params.push(line.slice(pos + 1));
      break;
    }
    let next = line.indexOf(" ", pos);
    if (next < 0) next = line.length;
    params.push(line.slice(pos, next));
    pos = next;
  }
  return { tags, source, command, params };
}

/**
 * Formats a message as one line, without CR LF. The last parameter gets a colon when it
 * needs one (empty, has a space, or starts with a colon), or always with `trailing: true`
 * (servers send message text that way, so naive clients find it after the colon).
 *
 * @param message The message; `tags` and `source` may be omitted.
 * @returns The line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatMessage } from "./message.ts";
 *
 * const params = ["#lobby", "hi"];
 * assert.equal(formatMessage({ command: "PRIVMSG", params }), "PRIVMSG #lobby hi");
 * assert.equal(
 *   formatMessage({ command: "PRIVMSG", params: ["#lobby", "hi there"] }),
 *   "PRIVMSG #lobby :hi there",
 * );
 * assert.equal(
 *   formatMessage({ tags: { msgid: "m1" }, command: "PRIVMSG", params, trailing: true }),
 *   "@msgid=m1 PRIVMSG #lobby :hi",
 * );
 * ```
 */
export function formatMessage(
  message: {
    tags?: Record<string, string>;
    source?: string;
    command: string;
    params: string[];
    trailing?: boolean;
  },
): string {
  let line = "";
  const tagEntries = Object.entries(message.tags ?? {});
  if (tagEntries.length > 0) {
    line += "@" +
      tagEntries.map(([k, v]) => (v === "" ? k : `${k}=${escapeTagValue(v)}`)).join(";") + " ";
  }
  if (message.source) line += `:${message.source} `;
  line += message.command;
  const params = message.params;
  for (let i = 0; i < params.length; i++) {
    const param = params[i];
    const last = i === params.length - 1;
    if (
      last && (message.trailing || param === "" || param.includes(" ") || param.startsWith(":"))
    ) {
      line += ` :${param}`;
    } else {
      line += ` ${param}`;
    }
  }
  return line;
}

/**
 * The nick part of a source `nick!user@host`.
 *
 * @param source The source.
 * @returns The nick.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nickOf } from "./message.ts";
 *
 * assert.equal(nickOf("ann!a@h"), "ann");
 * assert.equal(nickOf("irc.example.org"), "irc.example.org");
 * assert.equal(nickOf(undefined), "");
 * ```
 */
export function nickOf(source: string | undefined): string {
  if (!source) return "";
  const bang = source.indexOf("!");
  return bang < 0 ? source : source.slice(0, bang);
}
