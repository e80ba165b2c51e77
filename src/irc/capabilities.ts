/**
 * IRCv3 capability negotiation (`CAP LS`, `LIST`, `REQ`, `END`): which capabilities the
 * server offers, which one client enabled, and the encoding variant that follows from them.
 *
 * @module
 */
import { VARIANT_TAGS, VARIANT_TIME } from "./encode.ts";
import { Numeric } from "./numerics.ts";
import type { IrcSession } from "./session.ts";

/**
 * The IRCv3 capabilities shmooze offers, as listed by `CAP LS`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CAPABILITIES } from "./capabilities.ts";
 *
 * assert.ok(CAPABILITIES.includes("sasl"));
 * assert.ok(CAPABILITIES.includes("draft/chathistory"));
 * ```
 */
export const CAPABILITIES: readonly string[] = [
  "batch",
  "draft/account-registration",
  "draft/chathistory",
  "echo-message",
  "invite-notify",
  "message-tags",
  "multi-prefix",
  "sasl",
  "server-time",
];

/**
 * One client's capabilities: those enabled, and whether negotiation holds its registration
 * back (from `CAP LS` or `REQ` until `CAP END`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Capabilities } from "./capabilities.ts";
 * import { VARIANT_TIME } from "./encode.ts";
 *
 * const caps = new Capabilities();
 * assert.ok(caps.request(["server-time", "echo-message"]));
 * assert.ok(caps.has("echo-message"));
 * assert.equal(caps.variant, VARIANT_TIME);
 * assert.ok(!caps.request(["no-such-cap"]));
 * ```
 */
export class Capabilities {
  /** Negotiation is under way: registration waits for `CAP END`. */
  negotiating = false;
  readonly #enabled = new Set<string>();

  /**
   * Whether a capability is enabled.
   *
   * @param name The capability.
   * @returns True when enabled.
   */
  has(name: string): boolean {
    return this.#enabled.has(name);
  }

  /** The enabled capabilities, in the order they were enabled. */
  get enabled(): string[] {
    return [...this.#enabled];
  }

  /** The encoding variant events are sent in: the capability bits that change the bytes. */
  get variant(): number {
    return (this.has("server-time") ? VARIANT_TIME : 0) |
      (this.has("message-tags") ? VARIANT_TAGS : 0);
  }

  /**
   * Applies a `CAP REQ`: all or nothing, as the spec says.
   *
   * @param names Capabilities to enable, `-name` to disable.
   * @returns False (and nothing changed) when one is unknown or none is given.
   */
  request(names: string[]): boolean {
    const known = names.every((name) => CAPABILITIES.includes(name.replace(/^-/, "")));
    if (!known || names.length === 0) return false;
    for (const name of names) {
      if (name.startsWith("-")) this.#enabled.delete(name.slice(1));
      else this.#enabled.add(name);
    }
    return true;
  }
}

/**
 * Handles one `CAP` command.
 *
 * @param session The client.
 * @param caps Its capabilities.
 * @param params The command's parameters.
 * @returns `"end"` when the client ended negotiation before registering.
 */
export function capCommand(
  session: IrcSession,
  caps: Capabilities,
  params: string[],
): "end" | undefined {
  const target = session.nick || "*";
  const sub = (params[0] ?? "").toUpperCase();
  switch (sub) {
    case "LS":
      if (!session.registered) caps.negotiating = true;
      session.send({ command: "CAP", params: [target, "LS", CAPABILITIES.join(" ")] });
      return undefined;
    case "LIST":
      session.send({ command: "CAP", params: [target, "LIST", caps.enabled.join(" ")] });
      return undefined;
    case "REQ": {
      if (!session.registered) caps.negotiating = true;
      const asked = (params[1] ?? "").trim();
      const names = asked.split(/ +/).filter((name) => name !== "");
      const ok = caps.request(names);
      session.send({ command: "CAP", params: [target, ok ? "ACK" : "NAK", asked] });
      return undefined;
    }
    case "END":
      if (session.registered) return undefined;
      caps.negotiating = false;
      return "end";
    default:
      session.reply(Numeric.ERR_INVALIDCAPCMD, sub || "*", "Invalid CAP command");
      return undefined;
  }
}
