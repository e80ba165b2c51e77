/**
 * An IRC client library that works against any server (tested with shmooze and ngircd):
 * connect over TCP or TLS, negotiate IRCv3 capabilities, log in with SASL PLAIN, and read
 * messages as they come.
 *
 * @example Report a server that is not running
 * ```ts
 * import assert from "node:assert/strict";
 * import { IrcClient, IrcConnectionError } from "./mod.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = (listener.addr as Deno.NetAddr).port;
 * listener.close();
 * await assert.rejects(IrcClient.connect({ nick: "ann", port }), IrcConnectionError);
 * ```
 *
 * @module
 */
export {
  type ConnectionProblem,
  IrcClient,
  type IrcClientOptions,
  IrcConnectionError,
  type LoginOptions,
  type TlsClientOptions,
  WANTED_CAPABILITIES,
} from "./irc_client.ts";
