/**
 * VAPID (RFC 8292): the server signs each push request with its own P-256 key, so a push
 * service knows which application server sends it, and a subscription made for this
 * server's public key accepts pushes from nobody else. The key pair is made once and kept
 * (the caller stores its JWK in the data directory); the public key is what clients
 * subscribe with (the IRC `VAPID` ISUPPORT token).
 *
 * @module
 */
import { generateKeyPairSync } from "node:crypto";

/** How long a signed token stays valid: RFC 8292 allows at most 24 hours. */
const TOKEN_LIFETIME_S = 12 * 60 * 60;
/** A token is signed anew once less than this is left of it. */
const RENEW_BEFORE_S = 60 * 60;

const encoder = new TextEncoder();

/**
 * Makes a new VAPID key pair (ECDSA P-256). Synchronous, so that a server opening its data
 * directory makes it in the same step.
 *
 * @returns The private key as a JWK (with `x` and `y`, the public part), to be stored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateVapidKey } from "./vapid.ts";
 *
 * const jwk = generateVapidKey();
 * assert.equal(jwk.kty, "EC");
 * assert.equal(jwk.crv, "P-256");
 * assert.equal(Uint8Array.fromBase64(jwk.d!, { alphabet: "base64url" }).length, 32);
 * ```
 */
export function generateVapidKey(): JsonWebKey {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const { kty, crv, d, x, y } = privateKey.export({ format: "jwk" });
  return { kty, crv, d, x, y };
}

/**
 * A server's VAPID identity: its public key, and the `Authorization` header of a push
 * request to an origin, signed once per origin and reused until it nears its expiry.
 *
 * @example Sign a request header and check it as a push service would
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateVapidKey, Vapid } from "./vapid.ts";
 *
 * const vapid = new Vapid(generateVapidKey(), "mailto:ops@example.org");
 * const header = await vapid.authorization("https://push.example:8443/abc", 1_700_000_000_000);
 * const [, token, key] = header.match(/^vapid t=([^,]+), k=(.+)$/)!;
 * assert.equal(key, vapid.publicKey);
 * const [head, claims, signature] = token.split(".");
 * const json = (part: string) =>
 *   JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(part, { alphabet: "base64url" })));
 * assert.deepEqual(json(head), { typ: "JWT", alg: "ES256" });
 * assert.deepEqual(json(claims), {
 *   aud: "https://push.example:8443",
 *   exp: 1_700_000_000 + 12 * 3600,
 *   sub: "mailto:ops@example.org",
 * });
 * const publicKey = await crypto.subtle.importKey(
 *   "raw",
 *   Uint8Array.fromBase64(key, { alphabet: "base64url" }),
 *   { name: "ECDSA", namedCurve: "P-256" },
 *   false,
 *   ["verify"],
 * );
 * assert.ok(
 *   await crypto.subtle.verify(
 *     { name: "ECDSA", hash: "SHA-256" },
 *     publicKey,
 *     Uint8Array.fromBase64(signature, { alphabet: "base64url" }),
 *     new TextEncoder().encode(`${head}.${claims}`),
 *   ),
 * );
 * ```
 */
export class Vapid {
  /** The public key, uncompressed, URL-safe base64 without padding (what clients subscribe with). */
  readonly publicKey: string;
  /** Who runs this server (a `mailto:` or `https:` URI), the `sub` claim of every token. */
  readonly subject: string;
  readonly #signingKey: Promise<CryptoKey>;
  /** Signed tokens by audience, with their expiry (seconds since the epoch). */
  readonly #tokens = new Map<string, { token: string; expires: number }>();

  /**
   * The identity of a stored key pair. The public key is ready at once; the signing key is
   * imported in the background and first needed by {@link Vapid.authorization}.
   *
   * @param jwk The private key (from {@link generateVapidKey}).
   * @param subject The contact URI (`mailto:` or `https:`) put in every token.
   * @throws Error when the JWK is not a P-256 private key.
   */
  constructor(jwk: JsonWebKey, subject: string) {
    if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.d || !jwk.x || !jwk.y) {
      throw new Error("Cannot use the stored VAPID key: it is not a P-256 private key");
    }
    const point = new Uint8Array(65);
    point[0] = 4;
    point.set(Uint8Array.fromBase64(jwk.x, { alphabet: "base64url" }), 1);
    point.set(Uint8Array.fromBase64(jwk.y, { alphabet: "base64url" }), 33);
    this.publicKey = base64url(point);
    this.subject = subject;
    this.#signingKey = crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", d: jwk.d, x: jwk.x, y: jwk.y },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["sign"],
    );
    // Its failure is reported where the key is used; unobserved until then, it must not crash.
    this.#signingKey.catch(() => {});
  }

  /**
   * The `Authorization` header for a push request to an endpoint (RFC 8292 section 3):
   * `vapid t=<JWT>, k=<public key>`, the JWT's audience the endpoint's origin, valid 12
   * hours.
   *
   * @param endpoint The push endpoint's URL.
   * @param now The time now, ms since the epoch. @default {Date.now()}
   * @returns The header's value.
   */
  async authorization(endpoint: string, now: number = Date.now()): Promise<string> {
    const audience = new URL(endpoint).origin;
    const seconds = Math.floor(now / 1000);
    let cached = this.#tokens.get(audience);
    if (cached === undefined || cached.expires - RENEW_BEFORE_S <= seconds) {
      const expires = seconds + TOKEN_LIFETIME_S;
      cached = { token: await this.#sign(audience, expires), expires };
      this.#tokens.set(audience, cached);
    }
    return `vapid t=${cached.token}, k=${this.publicKey}`;
  }

  /** A JWT (ES256) for one audience, as RFC 7515 writes it: header, claims, raw signature. */
  async #sign(audience: string, expires: number): Promise<string> {
    const part = (value: unknown) => base64url(encoder.encode(JSON.stringify(value)));
    const unsigned = `${part({ typ: "JWT", alg: "ES256" })}.${
      part({ aud: audience, exp: expires, sub: this.subject })
    }`;
    // WebCrypto's ECDSA signature is r || s, 64 bytes: the form JWS wants (not DER).
    const signature = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      await this.#signingKey,
      encoder.encode(unsigned),
    );
    return `${unsigned}.${base64url(new Uint8Array(signature))}`;
  }
}

function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}
