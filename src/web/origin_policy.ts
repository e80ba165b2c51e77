/**
 * Which web pages may open an IRC WebSocket. A browser sends the page's origin with every
 * WebSocket handshake and lets any page connect anywhere, so without this check a page on
 * another site could chat in the visitor's name (cross-site WebSocket hijacking).
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
 * import { normalizeOrigin } from "./origin_policy.ts";
 * console.log(normalizeOrigin("HTTPS://Chat.Example.com:443/")); // "https://chat.example.com"
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
 * Decides whether a WebSocket handshake may proceed: allowed when it carries no Origin
 * (not a browser, so no page can be abusing a visitor), when the Origin's host is the host
 * the request was sent to (the page came from this server), or when it is one of `extra`.
 *
 * @param request The handshake request.
 * @param extra More allowed origins (`https://chat.example.com`), already normalised.
 * @returns True when allowed.
 *
 * @example
 * ```ts
 * import { originAllowed } from "./origin_policy.ts";
 * const request = new Request("http://localhost:54080/irc", {
 *   headers: { origin: "http://evil.example" },
 * });
 * console.log(originAllowed(request, [])); // false
 * console.log(originAllowed(request, ["http://evil.example"])); // true
 * ```
 */
export function originAllowed(request: Request, extra: readonly string[]): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  const normalized = normalizeOrigin(origin);
  if (normalized === undefined) return false;
  const host = request.headers.get("host") ?? new URL(request.url).host;
  return new URL(normalized).host === host.toLowerCase() || extra.includes(normalized);
}
