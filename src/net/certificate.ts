/**
 * X.509 certificates made in TypeScript: a private certificate authority and server
 * certificates it signs, ECDSA P-256 with SHA-256 through WebCrypto, DER-encoded by hand
 * (`_der.ts`), so the single binary needs no openssl. Also reads back what a certificate
 * says (is it a CA, for which names, until when), to reuse one or explain why a TLS
 * library refuses it.
 *
 * The server certificate is what rustls (Deno's TLS), OpenSSL and browsers expect of a
 * leaf: version 3, `basicConstraints` CA:FALSE, `keyUsage` digitalSignature,
 * `extKeyUsage` serverAuth, the names in `subjectAltName` (DNS names and IP addresses),
 * and key identifiers linking it to its CA.
 *
 * @module
 */
import { bitString, integer, namedBits, oid, readItems, sequence, Tag, time, tlv } from "./_der.ts";
import { formatIp, parseIp } from "./_ip.ts";

/** A certificate and its private key, both PEM. */
export interface CertificateAndKey {
  /** The certificate (`-----BEGIN CERTIFICATE-----`). */
  cert: string;
  /** The PKCS #8 private key (`-----BEGIN PRIVATE KEY-----`). */
  key: string;
}

/** What a certificate says, as read by {@link readCertificate}. */
export interface CertificateInfo {
  /** The subject's common name, if it has one. */
  commonName: string | undefined;
  /** Whether `basicConstraints` says CA:TRUE. */
  isCa: boolean;
  /** The `subjectAltName` DNS names (lower case) and IP addresses (RFC 5952 form). */
  names: string[];
  /** Not valid before. */
  notBefore: Date;
  /** Not valid after. */
  notAfter: Date;
  /** The subject Name, DER (a certificate it signs names it as issuer). */
  subject: Uint8Array;
  /** The issuer Name, DER. */
  issuer: Uint8Array;
  /** `subjectKeyIdentifier`, hex. */
  subjectKeyId: string | undefined;
  /** `authorityKeyIdentifier`'s key identifier, hex. */
  authorityKeyId: string | undefined;
  /** The SubjectPublicKeyInfo, DER. */
  publicKey: Uint8Array;
}

/** Options for {@link makeCertificateAuthority}. */
export interface AuthorityOptions {
  /** The CA's common name. @default {"shmooze CA <8 random hex digits>"} */
  commonName?: string;
  /** Days it is valid. @default {7300} (20 years) */
  days?: number;
  /** Its start (an hour is taken off for clocks that are behind). @default {new Date()} */
  now?: Date;
}

/** Options for {@link issueServerCertificate}. */
export interface ServerCertificateOptions {
  /**
   * Days it is valid (never past its CA). 825 is the most Apple's systems accept for a
   * server certificate. @default {825}
   */
  days?: number;
  /** Its start (an hour is taken off for clocks that are behind). @default {new Date()} */
  now?: Date;
}

const ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
const COMMON_NAME = "2.5.4.3";
const ORGANIZATION = "2.5.4.10";
const SUBJECT_KEY_ID = "2.5.29.14";
const KEY_USAGE = "2.5.29.15";
const SUBJECT_ALT_NAME = "2.5.29.17";
const BASIC_CONSTRAINTS = "2.5.29.19";
const AUTHORITY_KEY_ID = "2.5.29.35";
const EXT_KEY_USAGE = "2.5.29.37";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const DAY_MS = 86_400_000;
const CLOCK_SKEW_MS = 3_600_000;
const DNS_NAME =
  /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Makes a certificate authority: a new P-256 key and a self-signed CA certificate that may
 * sign server certificates only (path length 0).
 *
 * @param options Name, lifetime, start.
 * @returns The CA certificate and its private key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeCertificateAuthority, readCertificate } from "./certificate.ts";
 * const ca = await makeCertificateAuthority({ commonName: "test CA" });
 * const info = readCertificate(ca.cert);
 * assert.equal(info.commonName, "test CA");
 * assert.ok(info.isCa);
 * ```
 */
export async function makeCertificateAuthority(
  options: AuthorityOptions = {},
): Promise<CertificateAndKey> {
  const keys = await crypto.subtle.generateKey(P256, true, ["sign", "verify"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const keyId = await keyIdentifier(spki);
  const commonName = options.commonName ?? `shmooze CA ${hex(randomBytes(4))}`;
  const name = distinguishedName(commonName);
  const now = options.now ?? new Date();
  const extensions = [
    extension(
      BASIC_CONSTRAINTS,
      true,
      sequence(tlv(Tag.BOOLEAN, new Uint8Array([0xff])), integer(0)),
    ),
    extension(KEY_USAGE, true, namedBits([5, 6])), // keyCertSign, cRLSign
    extension(SUBJECT_KEY_ID, false, tlv(Tag.OCTET_STRING, keyId)),
  ];
  const cert = await sign(
    tbsCertificate(name, name, now, options.days ?? 7300, spki, extensions),
    keys.privateKey,
  );
  return { cert: toPem("CERTIFICATE", cert), key: await privateKeyPem(keys.privateKey) };
}

/**
 * Issues a server certificate, with a new P-256 key, for host names and IP addresses.
 *
 * @param ca The CA that signs it (from {@link makeCertificateAuthority}).
 * @param names DNS names (`localhost`, `chat.example.org`, `*.example.org`) and IP
 *   addresses (`127.0.0.1`, `::1`); the first is also the common name.
 * @param options Lifetime and start.
 * @returns The certificate and its private key.
 * @throws Error when there is no name, a name is neither a host name nor an IP address, or
 *   the CA's certificate or key cannot be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { issueServerCertificate, makeCertificateAuthority, readCertificate } from "./certificate.ts";
 * const ca = await makeCertificateAuthority();
 * const server = await issueServerCertificate(ca, ["localhost", "127.0.0.1", "::1"]);
 * const info = readCertificate(server.cert);
 * assert.deepEqual(info.names, ["localhost", "127.0.0.1", "::1"]);
 * assert.ok(!info.isCa);
 * assert.equal(info.authorityKeyId, readCertificate(ca.cert).subjectKeyId);
 * ```
 */
export async function issueServerCertificate(
  ca: CertificateAndKey,
  names: string[],
  options: ServerCertificateOptions = {},
): Promise<CertificateAndKey> {
  if (names.length === 0) throw new Error("Cannot make a server certificate without a name");
  const altNames = names.map(generalName);
  const authority = readCertificate(ca.cert);
  if (authority.subjectKeyId === undefined) {
    throw new Error("Cannot sign with this CA: its certificate has no subjectKeyIdentifier");
  }
  const caKey = await crypto.subtle.importKey(
    "pkcs8",
    fromPem("PRIVATE KEY", ca.key),
    P256,
    false,
    ["sign"],
  );
  const keys = await crypto.subtle.generateKey(P256, true, ["sign", "verify"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const now = options.now ?? new Date();
  const lastDay = (authority.notAfter.getTime() - now.getTime()) / DAY_MS;
  const extensions = [
    extension(BASIC_CONSTRAINTS, true, sequence()),
    extension(KEY_USAGE, true, namedBits([0])), // digitalSignature
    extension(EXT_KEY_USAGE, false, sequence(oid(SERVER_AUTH))),
    extension(SUBJECT_ALT_NAME, false, sequence(...altNames)),
    extension(SUBJECT_KEY_ID, false, tlv(Tag.OCTET_STRING, await keyIdentifier(spki))),
    extension(
      AUTHORITY_KEY_ID,
      false,
      sequence(tlv(0x80, fromHex(authority.subjectKeyId))), // [0] keyIdentifier
    ),
  ];
  const tbs = tbsCertificate(
    distinguishedName(names[0]),
    authority.subject,
    now,
    Math.min(options.days ?? 825, lastDay),
    spki,
    extensions,
  );
  return {
    cert: toPem("CERTIFICATE", await sign(tbs, caKey)),
    key: await privateKeyPem(keys.privateKey),
  };
}

/**
 * Reads what a certificate says. Only the parts this module writes are decoded; the
 * signature is not checked (the TLS library does that).
 *
 * @param pem A PEM certificate (the first one, if several).
 * @returns Its CA flag, names, validity and identifiers.
 * @throws Error when the text holds no certificate or it is malformed.
 *
 * @example A CA certificate
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeCertificateAuthority, readCertificate } from "./certificate.ts";
 * const { cert } = await makeCertificateAuthority({ days: 1 });
 * const info = readCertificate(cert);
 * assert.ok(info.isCa);
 * assert.ok(info.notAfter.getTime() - info.notBefore.getTime() > 86_400_000);
 * ```
 */
export function readCertificate(pem: string): CertificateInfo {
  const der = fromPem("CERTIFICATE", pem);
  try {
    return readDer(der);
  } catch (error) {
    throw new Error(`Cannot read the certificate: it is malformed (${(error as Error).message})`, {
      cause: error,
    });
  }
}

function readDer(der: Uint8Array): CertificateInfo {
  const [certificate] = readItems(der);
  const [tbs] = readItems(certificate.contents);
  let fields = readItems(tbs.contents);
  if (fields[0]?.tag === 0xa0) fields = fields.slice(1); // [0] version
  const [_serial, _algorithm, issuer, validity, subject, publicKey, ...rest] = fields;
  if (subject === undefined) throw new Error("too few fields");
  const [notBefore, notAfter] = readItems(validity.contents).map(readTime);
  const info: CertificateInfo = {
    commonName: readCommonName(subject.contents),
    isCa: false,
    names: [],
    notBefore,
    notAfter,
    subject: subject.bytes,
    issuer: issuer.bytes,
    subjectKeyId: undefined,
    authorityKeyId: undefined,
    publicKey: publicKey.bytes,
  };
  const extensions = rest.find((item) => item.tag === 0xa3); // [3] extensions
  if (extensions === undefined) return info;
  for (const entry of readItems(readItems(extensions.contents)[0].contents)) {
    const parts = readItems(entry.contents);
    const id = hex(parts[0].bytes);
    const value = readItems(parts[parts.length - 1].contents)[0];
    if (id === hex(oid(BASIC_CONSTRAINTS))) {
      const flag = readItems(value.contents)[0];
      info.isCa = flag?.tag === Tag.BOOLEAN && flag.contents[0] !== 0;
    } else if (id === hex(oid(SUBJECT_ALT_NAME))) {
      for (const name of readItems(value.contents)) {
        if (name.tag === 0x82) info.names.push(new TextDecoder().decode(name.contents));
        if (name.tag === 0x87) info.names.push(ipText(name.contents));
      }
    } else if (id === hex(oid(SUBJECT_KEY_ID))) {
      info.subjectKeyId = hex(value.contents);
    } else if (id === hex(oid(AUTHORITY_KEY_ID))) {
      const keyId = readItems(value.contents).find((item) => item.tag === 0x80);
      info.authorityKeyId = keyId && hex(keyId.contents);
    }
  }
  return info;
}

/**
 * Whether a private key belongs to a certificate (files written apart can be mixed up).
 *
 * @param pair A certificate and a P-256 key, PEM.
 * @returns True when the key's public half is the certificate's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keyMatchesCertificate, makeCertificateAuthority } from "./certificate.ts";
 * const one = await makeCertificateAuthority();
 * const two = await makeCertificateAuthority();
 * assert.ok(await keyMatchesCertificate(one));
 * assert.ok(!await keyMatchesCertificate({ cert: one.cert, key: two.key }));
 * ```
 */
export async function keyMatchesCertificate(pair: CertificateAndKey): Promise<boolean> {
  let jwk: JsonWebKey;
  try {
    const key = await crypto.subtle.importKey(
      "pkcs8",
      fromPem("PRIVATE KEY", pair.key),
      P256,
      true,
      [
        "sign",
      ],
    );
    jwk = await crypto.subtle.exportKey("jwk", key);
  } catch {
    return false;
  }
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
    P256,
    true,
    ["verify"],
  );
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
  return hex(spki) === hex(readCertificate(pair.cert).publicKey);
}

/**
 * The canonical spelling of a certificate name, as {@link readCertificate} reports it:
 * DNS names in lower case, IP addresses in RFC 5952 form.
 *
 * @param name A host name or an IP address.
 * @returns Its canonical form.
 * @throws Error when it is neither.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalName } from "./certificate.ts";
 * assert.equal(canonicalName("LocalHost"), "localhost");
 * assert.equal(canonicalName("0:0:0:0:0:0:0:1"), "::1");
 * assert.throws(() => canonicalName("not a name"), /not a host name or an IP address/);
 * ```
 */
export function canonicalName(name: string): string {
  const ip = parseIp(name);
  if (ip !== undefined) return formatIp(ip);
  const host = name.toLowerCase();
  if (host.length > 253 || !DNS_NAME.test(host)) {
    throw new Error(`Cannot make a certificate for "${name}": not a host name or an IP address`);
  }
  return host;
}

/** A subjectAltName entry: dNSName [2] or iPAddress [7]. */
function generalName(name: string): Uint8Array {
  const canonical = canonicalName(name);
  const ip = parseIp(canonical);
  if (ip === undefined) return tlv(0x82, new TextEncoder().encode(canonical));
  const bytes = ip.family === 4
    ? ip.bytes
    : ip.groups.flatMap((group) => [group >> 8, group & 0xff]);
  return tlv(0x87, new Uint8Array(bytes));
}

function tbsCertificate(
  subject: Uint8Array,
  issuer: Uint8Array,
  now: Date,
  days: number,
  spki: Uint8Array,
  extensions: Uint8Array[],
): Uint8Array<ArrayBuffer> {
  // A positive 16-byte serial with its top bits fixed, so its encoding is always 16 bytes.
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x3f) | 0x40;
  const start = now.getTime() - CLOCK_SKEW_MS;
  return sequence(
    tlv(0xa0, integer(2)), // [0] version: v3
    integer(serial),
    sequence(oid(ECDSA_WITH_SHA256)),
    issuer,
    sequence(time(new Date(start)), time(new Date(now.getTime() + days * DAY_MS))),
    subject,
    spki,
    tlv(0xa3, sequence(...extensions)), // [3] extensions
  );
}

/** Signs a TBSCertificate: the Certificate SEQUENCE, DER. */
async function sign(tbs: Uint8Array<ArrayBuffer>, key: CryptoKey): Promise<Uint8Array> {
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, tbs),
  );
  // WebCrypto gives r ‖ s; X.509 wants Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }.
  const half = raw.length / 2;
  const signature = sequence(integer(raw.subarray(0, half)), integer(raw.subarray(half)));
  return sequence(tbs, sequence(oid(ECDSA_WITH_SHA256)), bitString(signature));
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence(
    oid(id),
    ...(critical ? [tlv(Tag.BOOLEAN, new Uint8Array([0xff]))] : []),
    tlv(Tag.OCTET_STRING, value),
  );
}

function distinguishedName(commonName: string): Uint8Array {
  const attribute = (type: string, value: string) =>
    tlv(Tag.SET, sequence(oid(type), tlv(Tag.UTF8_STRING, new TextEncoder().encode(value))));
  return sequence(attribute(ORGANIZATION, "shmooze"), attribute(COMMON_NAME, commonName));
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
async function keyIdentifier(spki: Uint8Array): Promise<Uint8Array> {
  const [info] = readItems(spki);
  const bits = readItems(info.contents)[1].contents.slice(1);
  return new Uint8Array(await crypto.subtle.digest("SHA-1", bits));
}

function readCommonName(name: Uint8Array): string | undefined {
  for (const rdn of readItems(name)) {
    for (const attribute of readItems(rdn.contents)) {
      const [type, value] = readItems(attribute.contents);
      if (hex(type.bytes) === hex(oid(COMMON_NAME))) {
        return new TextDecoder().decode(value.contents);
      }
    }
  }
  return undefined;
}

function readTime(item: { tag: number; contents: Uint8Array }): Date {
  let text = new TextDecoder().decode(item.contents);
  if (item.tag === Tag.UTC_TIME) text = `${Number(text.slice(0, 2)) < 50 ? "20" : "19"}${text}`;
  const match = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
  if (match === null) throw new Error(`bad time "${text}"`);
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIp({ family: 4, bytes: [...bytes] });
  const groups = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  return formatIp({ family: 6, groups });
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return toPem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
}

function toPem(label: string, der: Uint8Array): string {
  const base64 = btoa(Array.from(der, (byte) => String.fromCharCode(byte)).join(""));
  const lines = base64.match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}

function fromPem(label: string, pem: string): Uint8Array<ArrayBuffer> {
  const match = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`).exec(pem);
  if (match === null) throw new Error(`Cannot read the PEM text: it holds no ${label}`);
  try {
    return Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    throw new Error(`Cannot read the PEM text: its ${label} is not valid base64`);
  }
}

function randomBytes(count: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(count));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!, (pair) => parseInt(pair, 16));
}
