/**
 * Which push endpoints the server will send to. A push endpoint is a URL that a client
 * gives (IRCv3 `WEBPUSH REGISTER`), and the server then makes HTTP requests to it: without a
 * rule, any user could make the server probe or poke its own network (server-side request
 * forgery). So an endpoint must be `https` on a public address: a name is resolved, and an
 * endpoint any of whose addresses is loopback, private, link-local, unique-local, shared,
 * multicast or unspecified is refused. The request then goes to the address that was checked
 * (see `push_request.ts`), so a name that resolves elsewhere a second later (DNS rebinding)
 * gains nothing. An operator may allow internal addresses (`allowInternal`), which also
 * allows plain `http` to a loopback address — for a push service on the same machine, and
 * for tests.
 *
 * @module
 */
import { isIpv4Mapped, parseIp } from "../_ip.ts";
import { isLoopback } from "../loopback.ts";

/** Longest endpoint accepted (the URLs of the big push services are under 300 characters). */
export const MAX_ENDPOINT_LENGTH = 1024;
/** How long resolving an endpoint's host may take. */
const RESOLVE_TIMEOUT_MS = 5000;

/** What the server allows as a push destination. */
export interface EndpointPolicy {
  /**
   * Allow endpoints on internal addresses (loopback, private networks …), and plain `http`
   * to loopback. @default {false}
   */
  readonly allowInternal?: boolean;
}

/** Resolves a host name to its addresses (IPv4 and IPv6); tests may pass their own. */
export type Resolver = (host: string) => Promise<string[]>;

/** An endpoint found fit to send to, with the address its requests go to. */
export interface ResolvedEndpoint {
  /** The URL. */
  readonly url: URL;
  /** The host as written, without IPv6 brackets: the TLS server name. */
  readonly host: string;
  /** The IP address requests go to (checked against the policy). */
  readonly address: string;
  /** The port. */
  readonly port: number;
}

/**
 * Why an endpoint URL may not be used, judged from its text alone (a literal address is
 * checked too; a name is checked by {@link resolveEndpoint}).
 *
 * @param endpoint The URL a client gave.
 * @param policy What the server allows.
 * @returns The reason, in a sentence fit for the client; undefined when it is fine so far.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { endpointProblem } from "./push_endpoint.ts";
 *
 * assert.equal(endpointProblem("https://push.example/abc", {}), undefined);
 * assert.match(endpointProblem("http://push.example/abc", {})!, /must use https/);
 * assert.match(endpointProblem("https://10.0.0.5/abc", {})!, /internal address/);
 * assert.match(endpointProblem("https://localhost/abc", {})!, /internal address/);
 * assert.match(endpointProblem("not a url", {})!, /not a URL/);
 * assert.equal(endpointProblem("http://127.0.0.1:8080/p", { allowInternal: true }), undefined);
 * assert.match(endpointProblem("http://10.0.0.5/p", { allowInternal: true })!, /must use https/);
 * ```
 */
export function endpointProblem(endpoint: string, policy: EndpointPolicy): string | undefined {
  if (endpoint.length > MAX_ENDPOINT_LENGTH) {
    return `The endpoint is ${endpoint.length} characters long; at most ${MAX_ENDPOINT_LENGTH} are accepted`;
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return "The endpoint is not a URL";
  }
  const host = hostOf(url);
  const loopbackHttp = url.protocol === "http:" && policy.allowInternal && isLoopback(host);
  if (url.protocol !== "https:" && !loopbackHttp) {
    return "The endpoint must use https (plain http only to a loopback address, when the server allows internal endpoints)";
  }
  if (url.username !== "" || url.password !== "") {
    return "The endpoint must not carry a user name or password";
  }
  if (parseIp(host) !== undefined || host.toLowerCase() === "localhost") {
    return addressProblem(host === "localhost" ? "127.0.0.1" : host, policy);
  }
  return undefined;
}

/**
 * Checks an endpoint and finds the address its requests go to: a literal address as it is, a
 * name through DNS (every address it has must be allowed; the first is used).
 *
 * @param endpoint The URL.
 * @param policy What the server allows.
 * @param resolver How names are resolved. @default {DNS A and AAAA queries}
 * @returns The endpoint and its address, or why it may not be used.
 *
 * @example A literal loopback address, allowed only when internal endpoints are
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveEndpoint } from "./push_endpoint.ts";
 *
 * const allowed = await resolveEndpoint("http://127.0.0.1:8080/push", { allowInternal: true });
 * assert.ok(!("problem" in allowed));
 * assert.equal(allowed.address, "127.0.0.1");
 * assert.equal(allowed.port, 8080);
 * const refused = await resolveEndpoint("https://[::1]/push", {});
 * assert.ok("problem" in refused);
 * const rebinding = await resolveEndpoint("https://push.example/x", {}, () =>
 *   Promise.resolve(["192.0.2.7", "192.168.1.1"]));
 * assert.deepEqual(rebinding, {
 *   problem: "The endpoint's host push.example resolves to 192.168.1.1, an internal address (loopback, private or reserved); the server does not send there",
 * });
 * ```
 */
export async function resolveEndpoint(
  endpoint: string,
  policy: EndpointPolicy,
  resolver: Resolver = resolveHost,
): Promise<ResolvedEndpoint | { problem: string }> {
  const problem = endpointProblem(endpoint, policy);
  if (problem !== undefined) return { problem };
  const url = new URL(endpoint);
  const host = hostOf(url);
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  if (host.toLowerCase() === "localhost") return { url, host, address: "127.0.0.1", port };
  if (parseIp(host) !== undefined) return { url, host, address: host, port };
  let addresses: string[];
  try {
    addresses = await resolver(host);
  } catch (error) {
    return {
      problem: `The endpoint's host ${host} could not be resolved: ${(error as Error).message}`,
    };
  }
  if (addresses.length === 0) return { problem: `The endpoint's host ${host} has no address` };
  for (const address of addresses) {
    const refused = addressProblem(address, policy);
    if (refused !== undefined) {
      return {
        problem:
          `The endpoint's host ${host} resolves to ${address}, an internal address (loopback, private or reserved); the server does not send there`,
      };
    }
  }
  return { url, host, address: addresses[0], port };
}

/**
 * Whether an address is not on the public Internet: loopback, private (RFC 1918), shared
 * (RFC 6598), link-local, unique-local IPv6, multicast, reserved, broadcast or unspecified —
 * IPv4 also inside IPv4-mapped and NAT64 IPv6.
 *
 * @param address An IP address.
 * @returns True when internal; true also for text that is no address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isInternalAddress } from "./push_endpoint.ts";
 *
 * for (const address of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.169.254",
 *   "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "::", "fe80::1", "fd00::1", "::ffff:10.0.0.1",
 *   "64:ff9b::a00:1", "ff02::1", "nonsense"]) {
 *   assert.ok(isInternalAddress(address), address);
 * }
 * for (const address of ["192.0.2.1", "8.8.8.8", "2001:db8::1", "::ffff:8.8.8.8"]) {
 *   assert.ok(!isInternalAddress(address), address);
 * }
 * ```
 */
export function isInternalAddress(address: string): boolean {
  const ip = parseIp(address);
  if (ip === undefined) return true;
  if (ip.family === 4) return internalV4(ip.bytes);
  const g = ip.groups;
  if (isIpv4Mapped(g) || (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => !x))) {
    return internalV4([g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff]);
  }
  if (g.slice(0, 7).every((group) => group === 0)) return g[7] <= 1; // :: and ::1
  return (g[0] & 0xfe00) === 0xfc00 || // fc00::/7 unique local
    (g[0] & 0xffc0) === 0xfe80 || // fe80::/10 link local
    (g[0] & 0xff00) === 0xff00; // ff00::/8 multicast
}

function internalV4([a, b]: number[]): boolean {
  return a === 0 || a === 10 || a === 127 || a >= 224 || // this network, private, loopback, multicast and reserved
    (a === 100 && (b & 0xc0) === 64) || // 100.64.0.0/10 shared
    (a === 169 && b === 254) || // link local (cloud metadata lives here)
    (a === 172 && (b & 0xf0) === 16) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b & 0xfe) === 18); // benchmarking
}

function addressProblem(address: string, policy: EndpointPolicy): string | undefined {
  if (policy.allowInternal || !isInternalAddress(address)) return undefined;
  return `The endpoint is at ${address}, an internal address (loopback, private or reserved); the server does not send there`;
}

/** The URL's host without the brackets of an IPv6 address. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/** A name's IPv4 and IPv6 addresses from DNS (either family may have none). */
async function resolveHost(host: string): Promise<string[]> {
  const signal = AbortSignal.timeout(RESOLVE_TIMEOUT_MS);
  const [v4, v6] = await Promise.allSettled([
    Deno.resolveDns(host, "A", { signal }),
    Deno.resolveDns(host, "AAAA", { signal }),
  ]);
  const found = [v4, v6].flatMap((result) => result.status === "fulfilled" ? result.value : []);
  if (found.length === 0 && v4.status === "rejected") throw v4.reason;
  return found;
}
