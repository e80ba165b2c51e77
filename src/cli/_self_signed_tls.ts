/**
 * `serve --tls-self-signed [--tls-name NAME …]`: TLS set up in one step from the data
 * directory, and a warning when `--tls-cert` is a certificate clients will refuse.
 *
 * @module
 */
import { defaultDataDir } from "../chat/data_directory.ts";
import { canonicalName, readCertificate } from "../net/certificate.ts";
import { DEFAULT_TLS_NAMES, ensureSelfSigned, type SelfSigned } from "../net/self_signed.ts";
import type { TlsOptions } from "../server/server.ts";
import { CliError, intOption, stringOption, UsageError, type Values } from "./_args.ts";

/**
 * The TLS options of `--tls-self-signed`: the CA and server certificate in `<data>/tls/`,
 * made or reused.
 *
 * @param values Parsed `serve` options.
 * @returns The TLS options and what was set up, or undefined without `--tls-self-signed`.
 * @throws UsageError for `--tls-name` without `--tls-self-signed`, a bad name, or
 *   `--tls-cert`/`--tls-key` as well; CliError when the files cannot be made or read.
 *
 * @example Make the CA and certificate in the data directory; --tls-name alone is refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { readSelfSignedTls } from "./_self_signed_tls.ts";
 *
 * const data = Deno.makeTempDirSync();
 * const values = { "tls-self-signed": true, "tls-name": ["localhost"], data };
 * const made = await readSelfSignedTls(values);
 * assert.equal(made?.tls.port, 54443);
 * assert.match(made!.tls.cert, /^-----BEGIN CERTIFICATE-----/);
 * assert.equal(made?.selfSigned.caFile, join(data, "tls", "ca.pem"));
 * assert.deepEqual(made?.selfSigned.names, ["localhost"]);
 * assert.equal(await readSelfSignedTls({ "tls-port": "6697" }), undefined);
 * await assert.rejects(readSelfSignedTls({ "tls-name": ["localhost"] }), {
 *   name: "UsageError",
 *   message: "--tls-name needs --tls-self-signed",
 * });
 * Deno.removeSync(data, { recursive: true });
 * ```
 */
export async function readSelfSignedTls(
  values: Values,
): Promise<{ tls: TlsOptions; selfSigned: SelfSigned } | undefined> {
  const names = values["tls-name"] as string[] | undefined;
  if (values["tls-self-signed"] !== true) {
    if (names !== undefined) throw new UsageError("--tls-name needs --tls-self-signed");
    return undefined;
  }
  if (values["tls-cert"] !== undefined || values["tls-key"] !== undefined) {
    throw new UsageError("--tls-self-signed cannot be used with --tls-cert or --tls-key");
  }
  for (const name of names ?? []) {
    try {
      canonicalName(name);
    } catch {
      throw new UsageError(`--tls-name "${name}" is not a host name or an IP address`);
    }
  }
  let selfSigned: SelfSigned;
  try {
    const dataDir = stringOption(values, "data", "") || defaultDataDir();
    selfSigned = await ensureSelfSigned(dataDir, { names: names ?? DEFAULT_TLS_NAMES });
  } catch (error) {
    throw new CliError(`--tls-self-signed: ${(error as Error).message}`);
  }
  return {
    tls: {
      cert: selfSigned.cert,
      key: selfSigned.key,
      port: intOption(values, "tls-port", 54443, { max: 65535 }),
    },
    selfSigned,
  };
}

/**
 * What `serve` prints about a self-signed set-up: the names, and the file clients pass to
 * `--ca`.
 *
 * @param selfSigned What {@link readSelfSignedTls} set up.
 * @returns The line.
 *
 * @example The names, then the file for `--ca`
 * ```ts
 * import assert from "node:assert/strict";
 * import { selfSignedLine } from "./_self_signed_tls.ts";
 *
 * const line = selfSignedLine({
 *   caFile: "/d/tls/ca.pem", certFile: "", keyFile: "", cert: "", key: "",
 *   names: ["localhost", "::1"], newCa: false, newCert: false,
 * });
 * assert.equal(line, "self-signed TLS for localhost, ::1; clients pass --ca /d/tls/ca.pem");
 * ```
 */
export function selfSignedLine(selfSigned: SelfSigned): string {
  return `self-signed TLS for ${
    selfSigned.names.join(", ")
  }; clients pass --ca ${selfSigned.caFile}`;
}

/**
 * A warning for a `--tls-cert` that is a CA certificate, which rustls (Deno's TLS, so
 * `shmooze client`) and other strict clients refuse as a server's own certificate.
 *
 * @param file The `--tls-cert` file, for the message.
 * @param pem Its text.
 * @returns The warning, or undefined when the certificate is no CA (or cannot be read here:
 *   the TLS listener reports that).
 *
 * @example A CA certificate is warned about; what is not a certificate is left to TLS
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeCertificateAuthority } from "../net/certificate.ts";
 * import { caCertificateWarning } from "./_self_signed_tls.ts";
 *
 * const { cert } = await makeCertificateAuthority();
 * assert.match(caCertificateWarning("cert.pem", cert)!, /"cert.pem" is a CA certificate/);
 * assert.equal(caCertificateWarning("key.pem", "not a certificate"), undefined);
 * ```
 */
export function caCertificateWarning(file: string, pem: string): string | undefined {
  let isCa: boolean;
  try {
    isCa = readCertificate(pem).isCa;
  } catch {
    return undefined;
  }
  if (!isCa) return undefined;
  return `warning: --tls-cert "${file}" is a CA certificate (basicConstraints CA:TRUE, what openssl req -x509 makes by default); rustls (shmooze client, Deno) and other strict TLS clients refuse it as a server certificate (CaUsedAsEndEntity). Use --tls-self-signed instead, or make the certificate with -addext basicConstraints=critical,CA:FALSE`;
}
