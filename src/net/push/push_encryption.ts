/**
 * Web Push message encryption (RFC 8291) in the `aes128gcm` content coding (RFC 8188), with
 * WebCrypto: a push service relays the body but cannot read it; only the browser or app that
 * holds the subscription's private key and auth secret can.
 *
 * Per message: a fresh P-256 key pair of the server's and a fresh 16-byte salt; ECDH with the
 * subscription's public key (`p256dh`); HKDF with its auth secret, then with the salt, gives
 * a 16-byte content key and a 12-byte nonce; the text with its padding delimiter (0x02) is
 * sealed with AES-128-GCM as one record behind the header (salt, record size, the server's
 * public key).
 *
 * @module
 */

/** The keys of a push subscription, as the browser's `PushSubscription` gives them. */
export interface SubscriptionKeys {
  /** The subscription's P-256 ECDH public key, uncompressed (65 bytes). */
  readonly p256dh: Uint8Array;
  /** Its authentication secret (16 bytes). */
  readonly auth: Uint8Array;
}

/** Options for {@link encryptPushMessage}: fixed values that tests pin; fresh ones otherwise. */
export interface EncryptOptions {
  /** The salt (16 bytes). @default {16 random bytes} */
  salt?: Uint8Array;
  /** The server's ECDH key pair for this message. @default {a fresh P-256 pair} */
  serverKeys?: CryptoKeyPair;
}

/** The record size written in the header: one record holds the whole message. */
const RECORD_SIZE = 4096;
/** Salt (16), record size (4), key id length (1), the server's public key (65). */
const HEADER_LENGTH = 86;
/** The AES-GCM tag. */
const TAG_LENGTH = 16;

/**
 * The longest text one push carries: what fits one 4096-byte record with its delimiter and
 * tag, the size every push service must accept (RFC 8030 section 7.2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_PUSH_TEXT } from "./push_encryption.ts";
 *
 * assert.equal(MAX_PUSH_TEXT, 4096 - 86 - 16 - 1);
 * ```
 */
export const MAX_PUSH_TEXT = RECORD_SIZE - HEADER_LENGTH - TAG_LENGTH - 1;

const encoder = new TextEncoder();

/**
 * Encrypts a message for one subscription (RFC 8291, `aes128gcm`).
 *
 * @param text The message: at most {@link MAX_PUSH_TEXT} bytes.
 * @param keys The subscription's public key and auth secret.
 * @param options Salt and server keys, for tests; fresh ones by default.
 * @returns The request body: header, then the sealed record.
 * @throws RangeError when the text is too long or a key has the wrong length.
 *
 * @example RFC 8291's own example, byte for byte (section 5 and Appendix A)
 * ```ts
 * import assert from "node:assert/strict";
 * import { encryptPushMessage, importServerKeys } from "./push_encryption.ts";
 *
 * const bytes = (text: string) => Uint8Array.fromBase64(text, { alphabet: "base64url" });
 * const serverKeys = await importServerKeys(
 *   bytes("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"),
 *   bytes("BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"),
 * );
 * const body = await encryptPushMessage("When I grow up, I want to be a watermelon", {
 *   p256dh: bytes(
 *     "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
 *   ),
 *   auth: bytes("BTBZMqHH6r4Tts7J_aSIgg"),
 * }, { salt: bytes("DGv6ra1nlYgDCS1FRnbzlw"), serverKeys });
 * assert.equal(
 *   body.toBase64({ alphabet: "base64url", omitPadding: true }),
 *   "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6" +
 *     "TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qu" +
 *     "lcy4a-fN",
 * );
 * ```
 */
export async function encryptPushMessage(
  text: string | Uint8Array,
  keys: SubscriptionKeys,
  options: EncryptOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const plain = typeof text === "string" ? encoder.encode(text) : text;
  if (plain.length > MAX_PUSH_TEXT) {
    throw new RangeError(
      `Cannot encrypt a push message of ${plain.length} bytes: one push carries at most ${MAX_PUSH_TEXT}`,
    );
  }
  checkKeys(keys);
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const serverKeys = options.serverKeys ??
    await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
      "deriveBits",
    ]) as CryptoKeyPair;
  const serverPublic = new Uint8Array(
    await crypto.subtle.exportKey("raw", serverKeys.publicKey),
  );
  const subscriptionKey = await crypto.subtle.importKey(
    "raw",
    copy(keys.p256dh),
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const shared = await crypto.subtle.deriveBits(
    { name: "ECDH", public: subscriptionKey },
    serverKeys.privateKey,
    256,
  );
  const keyInfo = concat(encoder.encode("WebPush: info\0"), keys.p256dh, serverPublic);
  const ikm = await hkdf(keys.auth, new Uint8Array(shared), keyInfo, 32);
  const contentKey = await hkdf(salt, ikm, encoder.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, encoder.encode("Content-Encoding: nonce\0"), 12);
  const aesKey = await crypto.subtle.importKey("raw", contentKey, "AES-GCM", false, ["encrypt"]);
  // The only record is the last one: its padding starts with the delimiter 0x02.
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce },
    aesKey,
    concat(plain, new Uint8Array([2])),
  );
  const header = new Uint8Array(HEADER_LENGTH);
  header.set(salt, 0);
  new DataView(header.buffer).setUint32(16, RECORD_SIZE);
  header[20] = serverPublic.length;
  header.set(serverPublic, 21);
  return concat(header, new Uint8Array(sealed));
}

/**
 * Imports a fixed P-256 key pair for {@link encryptPushMessage} (tests pin the server's
 * key to reproduce known messages).
 *
 * @param privateKey The private scalar (32 bytes).
 * @param publicKey The public key, uncompressed (65 bytes).
 * @returns The key pair.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { importServerKeys } from "./push_encryption.ts";
 *
 * const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
 *   "deriveBits",
 * ]) as CryptoKeyPair;
 * const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
 * const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
 * const imported = await importServerKeys(
 *   Uint8Array.fromBase64(jwk.d!, { alphabet: "base64url" }),
 *   raw,
 * );
 * assert.deepEqual(new Uint8Array(await crypto.subtle.exportKey("raw", imported.publicKey)), raw);
 * ```
 */
export async function importServerKeys(
  privateKey: Uint8Array,
  publicKey: Uint8Array,
): Promise<CryptoKeyPair> {
  const jwk = p256Jwk(privateKey, publicKey);
  const algorithm = { name: "ECDH", namedCurve: "P-256" };
  return {
    privateKey: await crypto.subtle.importKey("jwk", jwk, algorithm, false, ["deriveBits"]),
    publicKey: await crypto.subtle.importKey("raw", copy(publicKey), algorithm, true, []),
  };
}

/**
 * The JWK of a P-256 key from its raw private scalar and uncompressed public point.
 *
 * @param privateKey 32 bytes.
 * @param publicKey 65 bytes (0x04, x, y).
 * @returns The JWK.
 */
function p256Jwk(privateKey: Uint8Array, publicKey: Uint8Array): JsonWebKey {
  const base64url = (bytes: Uint8Array) =>
    bytes.toBase64({ alphabet: "base64url", omitPadding: true });
  return {
    kty: "EC",
    crv: "P-256",
    d: base64url(privateKey),
    x: base64url(publicKey.subarray(1, 33)),
    y: base64url(publicKey.subarray(33, 65)),
  };
}

/** Refuses keys of the wrong shape before WebCrypto gives a less helpful error. */
function checkKeys(keys: SubscriptionKeys): void {
  if (keys.p256dh.length !== 65 || keys.p256dh[0] !== 4) {
    throw new RangeError(
      `Cannot encrypt for a p256dh key of ${keys.p256dh.length} bytes: it must be an uncompressed P-256 point (65 bytes starting 0x04)`,
    );
  }
  if (keys.auth.length !== 16) {
    throw new RangeError(
      `Cannot encrypt for an auth secret of ${keys.auth.length} bytes: it must be 16 bytes`,
    );
  }
}

/** HKDF-SHA-256 (RFC 5869): `length` bytes from a secret, a salt and an info string. */
async function hkdf(
  salt: Uint8Array,
  secret: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", copy(secret), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: copy(salt), info: copy(info) },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

/** The bytes in a buffer of their own (WebCrypto takes `BufferSource` of an `ArrayBuffer`). */
function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
