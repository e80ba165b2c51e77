/**
 * How a node (or `shmooze status --cluster`) reaches a NATS server that is not open to anyone:
 * `tls://` URLs, a private CA's certificate, and credentials from a file — a user and password
 * or a token, the two kinds Debian's nats-server 2.9 takes from its own config file with no
 * account server (`authorization { user … password … }` or `authorization { token … }`).
 * Credentials come from a file, never the command line, where `ps` would show them.
 *
 * @module
 */
import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";

/** How to reach a NATS server beyond its URL. */
export interface NatsAccess {
  /**
   * A file with one line: `USER:PASSWORD`, or a token (no `:`). None: no credentials.
   * @default {undefined}
   */
  creds?: string;
  /** A PEM file of the CA that signed the server's certificate (`tls://` URLs only). @default {undefined} */
  ca?: string;
}

/** Credentials as nats.js takes them. */
export type NatsCredentials = { user: string; pass: string } | { token: string };

/**
 * Why a URL is no NATS server address `serve` and `status` take, if it is not.
 *
 * @param url What was given.
 * @returns Why not, or undefined when it is `nats://host:port` or `tls://host:port`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { natsUrlProblem } from "./nats_access.ts";
 *
 * assert.equal(natsUrlProblem("tls://nats.example:4222"), undefined);
 * assert.match(natsUrlProblem("http://x") ?? "", /nats:\/\/127\.0\.0\.1:4222/);
 * ```
 */
export function natsUrlProblem(url: string): string | undefined {
  return /^(nats|tls):\/\/[^\s/]+$/.test(url)
    ? undefined
    : `must be a NATS URL such as nats://127.0.0.1:4222 or tls://nats.example:4222, not "${url}"`;
}

/**
 * Reads credentials from the text of a `--cluster-creds` file.
 *
 * @param text The file's text: one line, `USER:PASSWORD` or a token; a final newline is fine.
 * @param file The file's name, for messages.
 * @returns The credentials.
 * @throws {TypeError} Naming the file and what is wrong with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNatsCredentials } from "./nats_access.ts";
 *
 * assert.deepEqual(parseNatsCredentials("shmooze:s3cret:x\n", "f"), { user: "shmooze", pass: "s3cret:x" });
 * assert.deepEqual(parseNatsCredentials("9f86d081884c7d65\n", "f"), { token: "9f86d081884c7d65" });
 * assert.throws(() => parseNatsCredentials("", "f"), /f is empty/);
 * ```
 */
export function parseNatsCredentials(text: string, file: string): NatsCredentials {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  if (lines.length === 0) {
    throw new TypeError(`${file} is empty: it must hold USER:PASSWORD or a token`);
  }
  if (text.includes("BEGIN NATS USER JWT")) {
    throw new TypeError(
      `${file} is a NATS .creds (JWT) file, which needs an account server: ` +
        `give USER:PASSWORD or a token (see docs/cluster.md, Security)`,
    );
  }
  if (lines.length > 1) {
    throw new TypeError(
      `${file} has ${lines.length} lines: it must hold one, USER:PASSWORD or a token`,
    );
  }
  const line = lines[0].trim();
  const colon = line.indexOf(":");
  if (colon > 0 && colon < line.length - 1) {
    return { user: line.slice(0, colon), pass: line.slice(colon + 1) };
  }
  if (/^[^\s:]+$/.test(line)) return { token: line };
  throw new TypeError(`${file} must hold USER:PASSWORD or a token (no spaces), not what it holds`);
}

/**
 * Connects to NATS with a node's access: TLS (required for `tls://`, checked against `ca` when
 * given) and credentials. The connection reconnects for ever after a loss.
 *
 * @param url `nats://host:port` or `tls://host:port`.
 * @param access The credentials file and CA file.
 * @param name The connection's name, as `nats-server` shows it.
 * @returns The connection.
 * @throws {Error} One line: `Cannot connect to NATS at URL: why` (refused, unreadable file, bad
 *   credentials, a certificate not signed by the CA, no TLS on the server for `tls://`).
 *
 * @example Nothing listens: one line says so
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectNats } from "./nats_access.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const url = `nats://127.0.0.1:${listener.addr.port}`;
 * listener.close();
 * await assert.rejects(connectNats(url, {}, "doc"), /^Error: Cannot connect to NATS at nats:\/\/127/);
 * ```
 */
export async function connectNats(
  url: string,
  access: NatsAccess,
  name: string,
): Promise<NatsConnection> {
  const fail = (why: string) => new Error(`Cannot connect to NATS at ${url}: ${why}`);
  const problem = natsUrlProblem(url);
  if (problem !== undefined) throw fail(`the URL ${problem}`);
  const tls = url.startsWith("tls://");
  if (access.ca !== undefined && !tls) throw fail("a CA file needs a tls:// URL");
  const options: NodeConnectionOptions = {
    // nats.js takes any scheme as nats://; TLS is asked for by its `tls` option.
    servers: url.replace(/^tls:/, "nats:"),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: CONNECT_TIMEOUT_MS,
    name,
  };
  if (tls) {
    if (access.ca !== undefined) {
      const pem = await readable(access.ca, "the CA file").catch((e) => {
        throw fail(e.message);
      });
      // TLS ignores what is no certificate, and would then blame the server's certificate.
      if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
        throw fail(`the CA file ${access.ca} holds no PEM certificate`);
      }
    }
    options.tls = access.ca === undefined ? {} : { caFile: access.ca };
  }
  if (access.creds !== undefined) {
    try {
      Object.assign(
        options,
        parseNatsCredentials(await readable(access.creds, "the credentials file"), access.creds),
      );
    } catch (error) {
      throw fail((error as Error).message);
    }
  }
  try {
    return await connect(options);
  } catch (error) {
    throw fail(explain(error as Error));
  }
}

/** How long connecting may take before whatever listens there is taken for no NATS server. */
const CONNECT_TIMEOUT_MS = 5000;

/** The largest credentials or CA file read: both are a few hundred bytes to a few KiB. */
const MAX_FILE_BYTES = 64 * 1024;

/** Reads a small regular file, or says which one could not be read and why. */
async function readable(file: string, what: string): Promise<string> {
  try {
    const info = await Deno.stat(file);
    if (!info.isFile) throw new Error("it is not a regular file");
    if (info.size > MAX_FILE_BYTES) throw new Error(`it is larger than ${MAX_FILE_BYTES} bytes`);
    return await Deno.readTextFile(file);
  } catch (error) {
    throw new Error(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
}

/** nats.js's and TLS's reasons, in a sentence an operator can act on. */
function explain(error: Error): string {
  const message = error.message;
  if (/authorization violation/i.test(message)) {
    return "the server refused the credentials (Authorization Violation): check --cluster-creds";
  }
  if (/does not support 'tls'/.test(message)) {
    return "the server offers no TLS, and a tls:// URL requires it";
  }
  if (message === "timeout") {
    return `no NATS server answered within ${CONNECT_TIMEOUT_MS / 1000} s`;
  }
  if (/certificate/i.test(message)) {
    return `the server's certificate was refused (${message}): check --cluster-ca`;
  }
  const cause = (error as { cause?: Error }).cause?.message;
  return cause === undefined || message.includes(cause) ? message : `${message}: ${cause}`;
}
