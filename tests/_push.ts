/**
 * Web Push test helpers: a push service run by the test (a Deno HTTP or HTTPS server on a
 * free loopback port) that records every push and answers as told, a subscription's keys as
 * a browser makes them, the receiving side of RFC 8291 (decrypting a push with the
 * subscription's private key and auth secret), and a check of the VAPID token (RFC 8292).
 */
import assert from "node:assert/strict";

/** One push the service received. */
export interface ReceivedPush {
  /** The request path. */
  readonly path: string;
  /** Its headers. */
  readonly headers: Headers;
  /** Its body (encrypted). */
  readonly body: Uint8Array;
}

/** What the service answers: a status, or `hang` (never answers until it stops). */
export type PushAnswer = number | "hang";

/** A push service on loopback. */
export interface TestPushService extends AsyncDisposable {
  /** The base URL (`http://127.0.0.1:PORT` or `https://…`). */
  readonly origin: string;
  /** Every push received, in order. */
  readonly received: ReceivedPush[];
  /** What the next pushes to a path get (one answer each, then 201); set by the test. */
  readonly answers: Map<string, PushAnswer[]>;
  /** Resolves with the `count`-th push received (1-based), failing after `timeoutMs`. */
  nth(count: number, timeoutMs?: number): Promise<ReceivedPush>;
}

/**
 * Starts a push service on a free loopback port.
 *
 * @param tls A certificate to serve HTTPS with; plain HTTP without.
 * @returns The running service; `await using` stops it.
 */
export function startPushService(tls?: { cert: string; key: string }): TestPushService {
  const received: ReceivedPush[] = [];
  const answers = new Map<string, PushAnswer[]>();
  const waiters = new Set<() => void>();
  const stopping = Promise.withResolvers<void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, ...(tls && { cert: tls.cert, key: tls.key }) },
    async (request) => {
      const path = new URL(request.url).pathname;
      received.push({
        path,
        headers: new Headers(request.headers),
        body: new Uint8Array(await request.arrayBuffer()),
      });
      for (const wake of [...waiters]) wake();
      const answer = answers.get(path)?.shift() ?? 201;
      if (answer === "hang") {
        await stopping.promise;
        return new Response(null, { status: 503 });
      }
      return new Response(null, { status: answer });
    },
  );
  const origin = `${tls ? "https" : "http"}://127.0.0.1:${server.addr.port}`;
  return {
    origin,
    received,
    answers,
    async nth(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`Timed out after ${timeoutMs} ms waiting for push ${count} at ${origin}`);
        }
        const arrived = Promise.withResolvers<void>();
        waiters.add(arrived.resolve);
        const timer = setTimeout(arrived.resolve, left);
        await arrived.promise;
        clearTimeout(timer);
        waiters.delete(arrived.resolve);
      }
      return received[count - 1];
    },
    async [Symbol.asyncDispose]() {
      stopping.resolve();
      await server.shutdown();
    },
  };
}

/** A push subscription as a browser makes one: its key pair and auth secret. */
export interface TestSubscription {
  /** The private ECDH key, which decrypts pushes. */
  readonly privateKey: CryptoKey;
  /** The public key, uncompressed (65 bytes). */
  readonly publicKey: Uint8Array;
  /** The auth secret (16 bytes). */
  readonly auth: Uint8Array;
  /** The `<keys>` parameter of `WEBPUSH REGISTER`: `p256dh=…;auth=…`. */
  readonly keys: string;
}

/**
 * Makes a subscription's keys.
 *
 * @returns The keys.
 */
export async function newSubscription(): Promise<TestSubscription> {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ]) as CryptoKeyPair;
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const auth = crypto.getRandomValues(new Uint8Array(16));
  return {
    privateKey: pair.privateKey,
    publicKey,
    auth,
    keys: `p256dh=${base64url(publicKey)};auth=${base64url(auth)}`,
  };
}

/**
 * Decrypts a push as the browser does (RFC 8291 with RFC 8188 `aes128gcm`): the header's
 * salt and sender key, ECDH with the subscription's private key, HKDF with the auth secret,
 * AES-128-GCM, then the padding removed up to the last record's delimiter (0x02).
 *
 * @param body The push's body.
 * @param subscription The subscription's private key, public key and auth secret.
 * @returns The message text.
 */
export async function decryptPush(
  body: Uint8Array,
  subscription: Pick<TestSubscription, "privateKey" | "publicKey" | "auth">,
): Promise<string> {
  const salt = body.slice(0, 16);
  const recordSize = new DataView(body.buffer, body.byteOffset).getUint32(16);
  const idLength = body[20];
  const senderKey = body.slice(21, 21 + idLength);
  const record = body.slice(21 + idLength);
  assert.ok(record.length <= recordSize, "one record holds the whole push");
  const sender = await crypto.subtle.importKey(
    "raw",
    senderKey,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const shared = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "ECDH", public: sender }, subscription.privateKey, 256),
  );
  const info = new Uint8Array([
    ...new TextEncoder().encode("WebPush: info\0"),
    ...subscription.publicKey,
    ...senderKey,
  ]);
  const ikm = await hkdf(subscription.auth, shared, info, 32);
  const key = await hkdf(salt, ikm, new TextEncoder().encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, new TextEncoder().encode("Content-Encoding: nonce\0"), 12);
  const aes = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["decrypt"]);
  const padded = new Uint8Array(
    await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, aes, record),
  );
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  assert.equal(padded[end], 2, "the last record ends with the delimiter 0x02");
  return new TextDecoder().decode(padded.subarray(0, end));
}

/** The claims of a VAPID token. */
export interface VapidClaims {
  /** The audience: the push service's origin. */
  readonly aud: string;
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  /** The server's contact URI. */
  readonly sub: string;
}

/**
 * Checks a push's `Authorization: vapid t=…, k=…` header: the key is the one the server
 * advertised, and the token's ES256 signature is valid for it.
 *
 * @param authorization The header.
 * @param vapidKey The key the server advertised (ISUPPORT `VAPID`).
 * @returns The token's claims.
 */
export async function verifyVapid(authorization: string, vapidKey: string): Promise<VapidClaims> {
  const match = authorization.match(/^vapid t=([^,\s]+),\s*k=(\S+)$/);
  assert.ok(match, `a VAPID Authorization header: ${authorization}`);
  const [, token, key] = match;
  assert.equal(key, vapidKey, "signed with the advertised key");
  const [head, claims, signature] = token.split(".");
  const json = (part: string) =>
    JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(part, { alphabet: "base64url" })));
  assert.deepEqual(json(head), { typ: "JWT", alg: "ES256" });
  const publicKey = await crypto.subtle.importKey(
    "raw",
    Uint8Array.fromBase64(key, { alphabet: "base64url" }),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  assert.ok(
    await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      publicKey,
      Uint8Array.fromBase64(signature, { alphabet: "base64url" }),
      new TextEncoder().encode(`${head}.${claims}`),
    ),
    "the token's signature is valid for the advertised key",
  );
  return json(claims);
}

async function hkdf(
  salt: Uint8Array,
  secret: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", new Uint8Array(secret), "HKDF", false, [
    "deriveBits",
  ]);
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(salt), info: new Uint8Array(info) },
      key,
      length * 8,
    ),
  );
}

function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}
