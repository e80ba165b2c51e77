/**
 * A working TLS set-up in one step: a private CA and a server certificate it signs, kept in
 * `<dataDir>/tls/` (directory 0700, files 0600) and reused on the next start, so clients
 * that trust the CA once (`shmooze client --ca <dataDir>/tls/ca.pem`) keep trusting the
 * server.
 *
 * - `ca.pem`, `ca-key.pem`: the CA (20 years). Made once; kept unless it is within 30 days
 *   of its end, or its key is gone or does not match it.
 * - `cert.pem`, `key.pem`: the server certificate (825 days at most) for the names asked
 *   for. Kept while it is signed by that CA, names exactly those names, has more than 30
 *   days left and its key matches; otherwise the CA signs a new one, and clients notice
 *   nothing.
 *
 * Why a CA and not one self-signed certificate: a self-signed certificate that says CA:TRUE
 * (what `openssl req -x509` makes by default) is refused as a server certificate by rustls
 * and other strict TLS libraries (`CaUsedAsEndEntity`), and one that says CA:FALSE cannot be
 * re-issued for new names or a new expiry without every client fetching it again.
 *
 * @module
 */
import { join } from "node:path";
import {
  canonicalName,
  type CertificateAndKey,
  type CertificateInfo,
  issueServerCertificate,
  keyMatchesCertificate,
  makeCertificateAuthority,
  readCertificate,
} from "./certificate.ts";

/**
 * The names a server certificate is made for when none are given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_TLS_NAMES, ensureSelfSigned } from "./self_signed.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const { names } = await ensureSelfSigned(dir);
 * assert.deepEqual(names, DEFAULT_TLS_NAMES);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export const DEFAULT_TLS_NAMES: readonly string[] = ["localhost", "127.0.0.1", "::1"];

/** What {@link ensureSelfSigned} set up. */
export interface SelfSigned {
  /** The CA certificate's file: what clients pass to `--ca`. */
  caFile: string;
  /** The server certificate's file. */
  certFile: string;
  /** The server key's file. */
  keyFile: string;
  /** The server certificate, PEM. */
  cert: string;
  /** The server key, PEM. */
  key: string;
  /** The names the server certificate is valid for, canonical. */
  names: string[];
  /** Whether the CA was made now (clients must fetch it), not reused. */
  newCa: boolean;
  /** Whether the server certificate was made now, not reused. */
  newCert: boolean;
}

/** Options for {@link ensureSelfSigned}. */
export interface SelfSignedOptions {
  /** Host names and IP addresses for the server certificate. @default {DEFAULT_TLS_NAMES} */
  names?: readonly string[];
  /** The time, for the validity checks. @default {new Date()} */
  now?: Date;
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

/**
 * Makes, or reuses, the CA and server certificate in `<dataDir>/tls/`.
 *
 * @param dataDir The server's data directory.
 * @param options The names, and the time.
 * @returns The files and the server's certificate and key.
 * @throws Error when a name is neither a host name nor an IP address, a file cannot be
 *   written, or an existing file is not a certificate or key (it is never overwritten).
 *
 * @example The second start reuses the first's CA
 * ```ts
 * import assert from "node:assert/strict";
 * import { ensureSelfSigned } from "./self_signed.ts";
 * const dir = Deno.makeTempDirSync();
 * const first = await ensureSelfSigned(dir);
 * const second = await ensureSelfSigned(dir, { names: ["chat.example.org"] });
 * assert.ok(first.newCa && !second.newCa && second.newCert);
 * assert.equal(Deno.statSync(first.keyFile).mode! & 0o777, 0o600);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function ensureSelfSigned(
  dataDir: string,
  options: SelfSignedOptions = {},
): Promise<SelfSigned> {
  const names = [...new Set((options.names ?? DEFAULT_TLS_NAMES).map(canonicalName))];
  if (names.length === 0) throw new Error("Cannot make a TLS certificate without a name");
  const now = options.now ?? new Date();
  const dir = join(dataDir, "tls");
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new Error(`Cannot create the TLS directory "${dir}": ${(error as Error).message}`, {
      cause: error,
    });
  }
  const files = {
    caFile: join(dir, "ca.pem"),
    caKeyFile: join(dir, "ca-key.pem"),
    certFile: join(dir, "cert.pem"),
    keyFile: join(dir, "key.pem"),
  };
  let ca = readPair(files.caFile, files.caKeyFile);
  let caInfo = ca && checked(files.caFile, ca.cert);
  // A CA whose key is gone, or is not its own (a write cut short), cannot sign: replace it.
  const newCa = ca === undefined || caInfo === undefined || !caInfo.isCa ||
    caInfo.notAfter.getTime() - now.getTime() < RENEW_BEFORE_MS ||
    !await keyMatchesCertificate(ca);
  if (newCa) {
    ca = await makeCertificateAuthority({ now });
    caInfo = readCertificate(ca.cert);
    writePrivate(files.caKeyFile, ca.key);
    writePrivate(files.caFile, ca.cert);
  }
  let server = readPair(files.certFile, files.keyFile);
  const serverInfo = server && checked(files.certFile, server.cert);
  const newCert = newCa || serverInfo === undefined ||
    serverInfo.authorityKeyId !== caInfo!.subjectKeyId ||
    serverInfo.names.join(" ") !== names.join(" ") ||
    serverInfo.notAfter.getTime() - now.getTime() < RENEW_BEFORE_MS ||
    !await keyMatchesCertificate(server!);
  if (newCert) {
    server = await issueServerCertificate(ca!, names, { now });
    writePrivate(files.keyFile, server.key);
    writePrivate(files.certFile, server.cert);
  }
  return {
    caFile: files.caFile,
    certFile: files.certFile,
    keyFile: files.keyFile,
    cert: server!.cert,
    key: server!.key,
    names,
    newCa,
    newCert,
  };
}

/** A certificate and key from their files, or undefined if either file is missing. */
function readPair(certFile: string, keyFile: string): CertificateAndKey | undefined {
  const read = (file: string) => {
    try {
      return Deno.readTextFileSync(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw new Error(`Cannot read "${file}": ${(error as Error).message}`, { cause: error });
    }
  };
  const cert = read(certFile);
  const key = read(keyFile);
  return cert === undefined || key === undefined ? undefined : { cert, key };
}

/** What an existing certificate file says; one that cannot be read is reported, not replaced. */
function checked(file: string, pem: string): CertificateInfo {
  try {
    return readCertificate(pem);
  } catch (error) {
    throw new Error(
      `Cannot reuse "${file}": ${(error as Error).message}; remove it to make a new one`,
      { cause: error },
    );
  }
}

/** Writes a file 0600 whatever the umask, replacing any old one in one step (rename). */
function writePrivate(file: string, text: string): void {
  const partial = `${file}.partial`;
  try {
    Deno.writeTextFileSync(partial, text, { mode: 0o600 });
    if (Deno.build.os !== "windows") Deno.chmodSync(partial, 0o600);
    Deno.renameSync(partial, file);
  } catch (error) {
    throw new Error(`Cannot write "${file}": ${(error as Error).message}`, { cause: error });
  }
}
