/**
 * Test certificates: a self-signed P-256 certificate for `localhost` and 127.0.0.1 (not a
 * CA, unless asked for), made with openssl in a temporary directory that is removed on
 * dispose.
 */

/** A certificate and its key, as files and as PEM text. */
export interface TestCertificate extends AsyncDisposable {
  /** The temporary directory holding both files. */
  readonly dir: string;
  /** The certificate's PEM file. */
  readonly certFile: string;
  /** The private key's PEM file. */
  readonly keyFile: string;
  /** The certificate, PEM. */
  readonly cert: string;
  /** The private key, PEM. */
  readonly key: string;
}

/** Options for {@link makeTestCertificate}. */
export interface TestCertificateOptions {
  /**
   * Leave openssl's default basicConstraints CA:TRUE, as a plain `openssl req -x509` does:
   * the certificate strict TLS clients refuse (`CaUsedAsEndEntity`). @default {false}
   */
  ca?: boolean;
}

/**
 * Makes a self-signed certificate valid for a day.
 *
 * @param commonName The subject CN (also the DNS subjectAltName).
 * @param addresses IP addresses it is valid for.
 * @param options Whether it is a CA.
 * @returns The certificate; `await using` removes its directory.
 */
export async function makeTestCertificate(
  commonName = "localhost",
  addresses: string[] = ["127.0.0.1"],
  options: TestCertificateOptions = {},
): Promise<TestCertificate> {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-tls-test-" });
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  const output = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${commonName}`,
      "-addext",
      `subjectAltName=DNS:${commonName},${addresses.map((ip) => `IP:${ip}`).join(",")}`,
      // openssl marks a self-signed certificate CA:TRUE by default; rustls (Deno's TLS) then
      // refuses it as a server's own certificate (CaUsedAsEndEntity).
      ...(options.ca ? [] : ["-addext", "basicConstraints=critical,CA:FALSE"]),
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(
      `Cannot make a test certificate with openssl: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return {
    dir,
    certFile,
    keyFile,
    cert: await Deno.readTextFile(certFile),
    key: await Deno.readTextFile(keyFile),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}
