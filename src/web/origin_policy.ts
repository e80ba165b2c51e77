/**
 * Which requests the web side answers, by the names in them.
 *
 * - **Host** (DNS rebinding): a page on `attacker.example` can make its name resolve to this
 *   server's address; the browser then sends the server requests with
 *   `Host: attacker.example` and lets the page read the answers, as same-origin. So the
 *   server answers only names it knows: IP literals (a page that names an IP address is not
 *   rebinding a name), `localhost`, and names the operator lists.
 * - **Origin** (cross-site WebSocket hijacking): a browser sends the page's origin with every
 *   WebSocket handshake and lets any page connect anywhere, so without this check a page on
 *   another site could chat in the visitor's name.
 *
 * @module
 */

/**
 * Normalises an origin as browsers send it (`scheme://host[:port]`, default port dropped).
 *
 * @param origin An origin or a URL.
 * @returns The origin, or undefined when it is not a URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeOrigin } from "./origin_policy.ts";
 *
 * assert.equal(normalizeOrigin("HTTPS://Chat.Example.com:443/"), "https://chat.example.com");
 * assert.equal(normalizeOrigin("null"), undefined);
 * ```
 */
export function normalizeOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.origin === "null" ? undefined : url.origin;
  } catch {
    return undefined;
  }
}

/**
 * The name in a Host header, without its port: lowercased, IDNA-normalised, one trailing dot
 * dropped; an IPv6 literal keeps its brackets.
 *
 * @param host The Host header's value (`Chat.Example.com:54080`, `[::1]:80`).
 * @returns The name, or undefined when the value is not a host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostName } from "./origin_policy.ts";
 *
 * assert.equal(hostName("Chat.Example.COM.:54080"), "chat.example.com");
 * assert.equal(hostName("[::1]:8080"), "[::1]");
 * assert.equal(hostName("evil.example/path"), undefined);
 * ```
 */
export function hostName(host: string): string | undefined {
  if (!/^[^\s/?#@\\]+$/.test(host)) return undefined;
  try {
    const name = new URL(`http://${host}/`).hostname;
    return name.endsWith(".") ? name.slice(0, -1) : name;
  } catch {
    return undefined;
  }
}

/**
 * Whether a request sent to `host` may be answered: the name is an IP literal, `localhost`,
 * or one of `allowed`.
 *
 * @param host The Host header's value.
 * @param allowed More names, lowercased, without ports.
 * @returns True when allowed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostAllowed } from "./origin_policy.ts";
 *
 * assert.ok(hostAllowed("127.0.0.1:54080", []));
 * assert.ok(hostAllowed("[::1]:54080", []));
 * assert.ok(hostAllowed("localhost:54080", []));
 * assert.ok(hostAllowed("chat.example.com", ["chat.example.com"]));
 * assert.ok(!hostAllowed("attacker.example:54080", ["chat.example.com"]));
 * ```
 */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const name = hostName(host);
  if (name === undefined) return false;
  // The URL parser has already turned every IPv4 spelling into dotted decimal.
  const ipLiteral = /^\d+\.\d+\.\d+\.\d+$/.test(name) || name.startsWith("[");
  return ipLiteral || name === "localhost" || allowed.includes(name);
}

/**
 * Decides whether a WebSocket handshake may proceed: allowed when it carries no Origin
 * (not a browser, so no page can be abusing a visitor), when the Origin's host is the host
 * the request was sent to (the page came from this server), or when it is one of `extra`.
 *
 * @param headers The handshake's header fields.
 * @param extra More allowed origins (`https://chat.example.com`), already normalised.
 * @returns True when allowed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { originAllowed } from "./origin_policy.ts";
 *
 * const headers = new Headers({ host: "localhost:54080", origin: "http://evil.example" });
 * assert.equal(originAllowed(headers, []), false);
 * assert.equal(originAllowed(headers, ["http://evil.example"]), true);
 * assert.equal(originAllowed(new Headers({ host: "localhost:54080" }), []), true);
 * ```
 */
export function originAllowed(headers: Headers, extra: readonly string[]): boolean {
  const origin = headers.get("origin");
  if (origin === null) return true;
  const normalized = normalizeOrigin(origin);
  if (normalized === undefined) return false;
  const host = headers.get("host") ?? "";
  return new URL(normalized).host === host.toLowerCase() || extra.includes(normalized);
}
