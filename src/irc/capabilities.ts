/**
 * IRCv3 capability negotiation (`CAP LS`, `LIST`, `REQ`, `END`): which capabilities the
 * server offers, which one client enabled, and the encoding variant that follows from them.
 *
 * @module
 */
import { READ_MARKER_CAP } from "./commands/markread.ts";
import { REDACTION_CAP } from "./commands/redact.ts";
import { SEARCH_CAP } from "./commands/search.ts";
import { SESSION_TOKEN_CAP } from "./commands/token.ts";
import { VARIANT_OF_CAPABILITY } from "./encode.ts";
import { Numeric } from "./numerics.ts";
import { SASL_MECHANISMS } from "./sasl.ts";
import type { IrcSession } from "./session.ts";

/**
 * The IRCv3 capabilities shmooze offers, as listed by `CAP LS`. The set never changes while
 * the server runs, so `cap-notify` never has a `CAP NEW` or `CAP DEL` to send.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CAPABILITIES } from "./capabilities.ts";
 *
 * assert.ok(CAPABILITIES.includes("sasl"));
 * assert.ok(CAPABILITIES.includes("labeled-response"));
 * assert.ok(CAPABILITIES.includes("chghost"), "an operator's CHGHOST");
 * ```
 */
export const CAPABILITIES: readonly string[] = [
  "account-notify",
  "account-tag",
  "away-notify",
  "batch",
  "cap-notify",
  "chghost",
  "draft/account-registration",
  "draft/chathistory",
  READ_MARKER_CAP,
  REDACTION_CAP,
  "draft/webpush",
  "echo-message",
  "extended-join",
  "extended-monitor",
  "invite-notify",
  "labeled-response",
  "message-tags",
  "multi-prefix",
  "sasl",
  "server-time",
  "setname",
  SESSION_TOKEN_CAP,
  SEARCH_CAP,
  "standard-replies",
  "userhost-in-names",
];

/** Values shown with a capability to clients that ask with `CAP LS 302`. */
const VALUES: Readonly<Record<string, string>> = { sasl: SASL_MECHANISMS };

/** Longest `CAP LS` list on one line; a 302 client gets the rest on more lines. */
const LS_BUDGET = 400;

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
    let variant = 0;
    for (const name of this.#enabled) variant |= VARIANT_OF_CAPABILITY[name] ?? 0;
    return variant;
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
    case "LS": {
      if (!session.registered) caps.negotiating = true;
      const version = Number(params[1] ?? 0);
      // A 302 client has cap-notify without asking (IRCv3 capability negotiation 3.2).
      if (version >= 302) caps.request(["cap-notify"]);
      const lines = lsLines(version >= 302);
      lines.forEach((line, i) => {
        const more = i < lines.length - 1 ? ["*"] : [];
        session.send({ command: "CAP", params: [target, "LS", ...more, line], trailing: true });
      });
      return undefined;
    }
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

/**
 * The `CAP LS` list: with values for a 302 client, in as many lines as it takes (only a 302
 * client understands more than one).
 */
function lsLines(values: boolean): string[] {
  const names = CAPABILITIES.map((name) =>
    values && VALUES[name] !== undefined ? `${name}=${VALUES[name]}` : name
  );
  if (!values) return [names.join(" ")];
  const lines: string[] = [];
  let line = "";
  for (const name of names) {
    if (line !== "" && line.length + 1 + name.length > LS_BUDGET) {
      lines.push(line);
      line = "";
    }
    line = line === "" ? name : `${line} ${name}`;
  }
  lines.push(line);
  return lines;
}
