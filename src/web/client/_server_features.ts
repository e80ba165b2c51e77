/**
 * What the server offers on one connection: the IRCv3 capabilities it lists (`CAP LS`, with
 * their values) and grants (`CAP ACK`), and what its ISUPPORT (005) says about line length,
 * history pages, the client tags it refuses to relay (`CLIENTTAGDENY`), where files are
 * uploaded (`draft/FILEHOST`) and the key push subscriptions are made with (`VAPID`).
 *
 * @module
 */
import type { IrcMessage } from "../../irc/message.ts";

/** The IRCv3 capabilities the page uses, asked for when the server offers them. */
const WANTED_CAPS = [
  "message-tags",
  "server-time",
  "batch",
  "draft/chathistory",
  // Reactions are TAGMSGs: history holds them for clients with event-playback.
  "draft/event-playback",
  "draft/message-redaction",
  "draft/read-marker",
  "draft/webpush",
  "echo-message",
  "multi-prefix",
  "soju.im/search",
];
// Until the server says (LINELEN): RFC 1459's line.
const LINE_LIMIT = 512;

/** One connection's view of the server. */
export class ServerFeatures {
  /** Capabilities offered, with their values ("" for none). */
  readonly offered = new Map<string, string>();
  readonly #acked = new Set<string>();
  #deniedTags: string[] = [];
  /** The most messages one CHATHISTORY answer holds; unlimited until the server says. */
  historyMax = Infinity;
  /** The longest line the server takes and relays. */
  lineLimit = LINE_LIMIT;
  /** Where files are uploaded (`draft/FILEHOST`); undefined when the server takes none. */
  fileHost: string | undefined;
  /** The server's VAPID public key (`VAPID`), for push subscriptions; undefined without. */
  vapidKey: string | undefined;

  /**
   * Whether the server granted a capability.
   *
   * @param name The capability.
   * @returns True when granted.
   */
  has(name: string): boolean {
    return this.#acked.has(name);
  }

  /**
   * A `CAP LS` line: the capabilities it lists are offered.
   *
   * @param m The line.
   * @returns True when it was the last line of the list.
   */
  listed(m: IrcMessage): boolean {
    const more = m.params[2] === "*";
    for (const cap of (m.params[more ? 3 : 2] ?? "").split(" ").filter(Boolean)) {
      const equals = cap.indexOf("=");
      if (equals < 0) this.offered.set(cap, "");
      else this.offered.set(cap.slice(0, equals), cap.slice(equals + 1));
    }
    return !more;
  }

  /**
   * A `CAP ACK` line: the capabilities it names are granted (or, with `-`, taken back).
   *
   * @param m The line.
   * @returns True when it was the last line of the answer.
   */
  granted(m: IrcMessage): boolean {
    const more = m.params[2] === "*";
    for (const cap of (m.params[more ? 3 : 2] ?? "").split(" ").filter(Boolean)) {
      if (cap.startsWith("-")) this.#acked.delete(cap.slice(1));
      else this.#acked.add(cap);
    }
    return !more;
  }

  /**
   * A `CAP` line of the registration: the capabilities the page uses (and those logging in
   * needs) are asked for once the list is complete; registration ends once they are granted,
   * unless logging in starts first.
   *
   * @param m The line.
   * @param login The capabilities logging in needs, from those offered; undefined when it
   *   cannot (and the user was told).
   * @param start Starts logging in with the capabilities granted; true when it did.
   * @returns The line to answer with, if any.
   */
  negotiate(
    m: IrcMessage,
    login: (offered: Map<string, string>) => string[] | undefined,
    start: (acked: Set<string>) => boolean,
  ): string | undefined {
    const sub = m.params[1];
    if (sub === "LS") {
      if (!this.listed(m)) return undefined;
      const needed = login(this.offered);
      if (needed === undefined) return undefined;
      const wanted = [...WANTED_CAPS.filter((cap) => this.offered.has(cap)), ...needed];
      return wanted.length ? `CAP REQ :${wanted.join(" ")}` : "CAP END";
    }
    if (sub === "ACK") return this.granted(m) && !start(this.#acked) ? "CAP END" : undefined;
    return sub === "NAK" ? "CAP END" : undefined;
  }

  /**
   * An ISUPPORT (005) line.
   *
   * @param m The line.
   */
  support(m: IrcMessage): void {
    for (const token of m.params.slice(1, -1)) {
      const equals = token.indexOf("=");
      const key = equals < 0 ? token : token.slice(0, equals);
      // ISUPPORT escapes a space, `\` and `=` in values as \xHH.
      const value = equals < 0 ? "" : token.slice(equals + 1).replace(
        /\\x([0-9a-fA-F]{2})/g,
        (_, hex: string) => String.fromCharCode(parseInt(hex, 16)),
      );
      if (key === "CHATHISTORY" && Number(value) > 0) this.historyMax = Number(value);
      if (key === "LINELEN" && Number(value) > 0) this.lineLimit = Number(value);
      if (key === "CLIENTTAGDENY") this.#deniedTags = value.split(",");
      if (key === "draft/FILEHOST" && value) this.fileHost = value;
      if (key === "VAPID" && value) this.vapidKey = value;
    }
  }

  /**
   * Whether the server relays a client tag: message-tags is on and `CLIENTTAGDENY` (`*` for
   * all, `-name` for an exception) does not refuse it.
   *
   * @param name The tag's name, without its `+`.
   * @returns True when it is relayed.
   */
  relays(name: string): boolean {
    if (!this.#acked.has("message-tags")) return false;
    if (this.#deniedTags.includes(`-${name}`)) return true;
    return !this.#deniedTags.includes(name) && !this.#deniedTags.includes("*");
  }
}
