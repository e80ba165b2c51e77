/**
 * The NATS flags `serve` and `status` share: the URL given to `--cluster`, `--cluster-creds`
 * and `--cluster-ca`, checked the same way for both.
 *
 * @module
 */
import type { NatsAccess } from "../cluster/nats_access.ts";
import { natsUrlProblem } from "../cluster/nats_access.ts";
import { UsageError, type Values } from "./_args.ts";

/**
 * Checks `--cluster`'s URL and reads `--cluster-creds` and `--cluster-ca` (their files are
 * read on connecting: a file that cannot be read is a run-time error naming it).
 *
 * @param values The parsed flags.
 * @param url The `--cluster` URL.
 * @returns The access to give the connection.
 * @throws {UsageError} For a URL that is no NATS URL, or a CA without a `tls://` URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readNatsAccess } from "./_nats_flags.ts";
 *
 * const values = { "cluster-creds": "/etc/shmooze/nats.creds", "cluster-ca": "ca.pem" };
 * assert.deepEqual(readNatsAccess(values, "tls://10.0.0.5:4222"), {
 *   creds: "/etc/shmooze/nats.creds",
 *   ca: "ca.pem",
 * });
 * assert.throws(() => readNatsAccess(values, "nats://10.0.0.5:4222"), /needs a tls:\/\/ URL/);
 * ```
 */
export function readNatsAccess(values: Values, url: string): NatsAccess {
  const problem = natsUrlProblem(url);
  if (problem !== undefined) throw new UsageError(`--cluster ${problem}`);
  const file = (flag: string) => {
    const value = values[flag];
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value === "") {
      throw new UsageError(`--${flag} needs a file name`);
    }
    return value;
  };
  const creds = file("cluster-creds");
  const ca = file("cluster-ca");
  if (ca !== undefined && !url.startsWith("tls://")) {
    throw new UsageError(`--cluster-ca needs a tls:// URL, not "${url}"`);
  }
  return { ...(creds === undefined ? {} : { creds }), ...(ca === undefined ? {} : { ca }) };
}
