/**
 * What the server offers on one connection: the IRCv3 capabilities it lists (`CAP LS`, with
 * their values) and grants (`CAP ACK`), and what its ISUPPORT (005) says about line length,
 * history pages and the client tags it refuses to relay (`CLIENTTAGDENY`).
 *
 * @module
 */
import type { IrcMessage } from "../../irc/message.ts";

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

  /** The capabilities granted. */
  get acked(): Set<string> {
    return this.#acked;
  }

  /**
   * An ISUPPORT (005) line.
   *
   * @param m The line.
   */
  support(m: IrcMessage): void {
    for (const token of m.params.slice(1, -1)) {
      const [key, value = ""] = token.split("=");
      if (key === "CHATHISTORY" && Number(value) > 0) this.historyMax = Number(value);
      if (key === "LINELEN" && Number(value) > 0) this.lineLimit = Number(value);
      if (key === "CLIENTTAGDENY") this.#deniedTags = value.split(",");
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
