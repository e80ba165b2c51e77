/**
 * `shmooze serve`: the command line of the chat server — where it listens, its limits,
 * TLS, the web side and the local room bridge — checked before anything starts; then it
 * serves until a signal or `/shutdown` on the operator console.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../chat/accounts.ts";
import { defaultDataDir } from "../chat/data_directory.ts";
import { IpcError } from "../ipc/ipc_error.ts";
import { advised, roomAdvice, withHint } from "./_hints.ts";
import { DEFAULT_LIMITS, type IrcLimits } from "../irc/limits.ts";
import { LOBBY } from "../chat/hub.ts";
import { clusterNameProblem } from "../cluster/jetstream_bus.ts";
import { readNatsAccess } from "./_nats_flags.ts";
import { channelProblem } from "../chat/names.ts";
import type { BridgeOptions } from "../bridge/bridge.ts";
import { startHttpTransport } from "../server/http_transport.ts";
import { hostName, normalizeOrigin } from "../web/origin_policy.ts";
import { parsePublicUrl } from "../web/uploads.ts";
import { CONSOLE_HELP, runConsole } from "../server/operator_console.ts";
import {
  type ClusterOptions,
  DEFAULT_MOTD,
  type ServerOptions,
  startServer,
  type TlsOptions,
} from "../server/server.ts";
import {
  CliError,
  intOption,
  parseCommandArgs,
  stringOption,
  UsageError,
  type Values,
} from "./_args.ts";
import type { Command } from "./command.ts";
import { onStopSignals } from "./_signals.ts";
import { caCertificateWarning, readSelfSignedTls, selfSignedLine } from "./_self_signed_tls.ts";
import { runWorkers, WORKER_READY } from "./_workers.ts";
import { DEFAULT_RING_BYTES, RING_SIZE_RANGE } from "../ipc/log_ring.ts";

const d = DEFAULT_LIMITS;

const help = `Usage: shmooze serve [options]

Run the IRC-compatible chat server: any IRC client (irssi, weechat, HexChat, nc) can connect.
#lobby always exists. History is kept in SQLite under the data directory and served with
IRCv3 CHATHISTORY; the live state is published on a status board in shared memory
(\`shmooze status\`).

Options:
  --host ADDRESS             Address to listen on (default: 0.0.0.0)
  --port PORT                TCP port; 0 picks a free one (default: 54000)
  --name NAME                The server's name in replies (default: shmooze)
  --data DIR                 History data directory (default: $SHMOOZE_DATA, else
                             ${defaultDataDirText()})
  --retention-days DAYS      Days history is kept; 0 keeps it forever (default: 30)
  --motd TEXT                Message of the day; "\\n" separates lines (default: a greeting)
  --motd-file FILE           Read the message of the day from FILE
  --no-status                Do not publish the status board
  --max-line BYTES           Longest line, CR LF included, tags excluded (default: ${d.maxLine})
  --max-tags BYTES           Longest tag section (default: ${d.maxTags})
  --flood-burst LINES        Lines a client may send at once; 0 turns flood control off
                             (default: ${d.floodBurst})
  --flood-rate LINES         Lines per second after the burst (default: ${d.floodRate})
  --max-conn-per-ip N        Connections allowed from one IP address (default: ${d.maxConnectionsPerIp})
  --conn-per-minute N        New connections from one IP address a minute; loopback is
                             exempt (default: ${d.connectionsPerMinute})
  --max-unregistered BYTES   Bytes a client may send before it registers (default: ${d.maxUnregisteredBytes})
  --history-budget N         CHATHISTORY commands a client may send in 10 s (default: ${d.historyBudget})
  --sendq BYTES              Bytes queued for a client before it is dropped (default: ${d.sendQ})
  --ping-interval SECONDS    Silence before the server sends PING (default: ${d.pingInterval})
  --ping-timeout SECONDS     Time to answer PING (default: ${d.pingTimeout})
  --registration-timeout S   Time to finish NICK/USER/CAP END (default: ${d.registrationTimeout})
  --flush-ms MS              Least time between two writes to each client; a busy server
                             waits longer on its own (default: 0)
  --http-port PORT           HTTP port: chat page /, live /monitor, /metrics, /healthz and
                             IRC over WebSocket at /irc; 0 picks a free one (default: 54080)
  --http-host ADDRESS        Address for HTTP (default: the --host address)
  --no-http                  Do not serve HTTP
  --allowed-origin ORIGIN    Another site whose pages may open the IRC WebSocket; repeatable
                             (default: only pages served by this server)
  --http-allowed-host NAME   A host name HTTP may be reached by; repeatable. IP addresses,
                             localhost and the --allowed-origin hosts always are; another
                             name is answered 421, which stops DNS rebinding
  --http-public-url URL      The web side's address as users reach it, behind a reverse
                             proxy (https://chat.example.com): upload links and the
                             advertised upload URL are made from it, and its host and
                             origin are allowed (default: the address HTTP listens on)
  --upload-max-bytes BYTES   Largest file a logged-in account may upload at /upload
                             (default: 10485760, 10 MiB); larger ones get 413 before a
                             byte of them is read
  --uploads-per-hour N       Uploads one account may make in any hour (default: 60)
  --upload-quota-bytes BYTES Bytes one account may have stored (default: 268435456, 256 MiB)
  --upload-total-bytes BYTES Bytes all uploads together may take (default: 10737418240,
                             10 GiB)
  --no-uploads               Accept no uploads (files already stored are no longer served)
  --tls-cert FILE            Also serve IRC over TLS with this PEM certificate (chain)
  --tls-key FILE             The certificate's PEM private key (both or neither)
  --tls-port PORT            TLS port; 0 picks a free one (default: 54443)
  --tls-self-signed          Serve TLS with a certificate from a private CA that serve makes
                             in DIR/tls/ (files 0600) and reuses on restart; clients trust
                             it with --ca DIR/tls/ca.pem (printed at start)
  --tls-name NAME            A host name or IP address the --tls-self-signed certificate is
                             for; repeatable (default: localhost, 127.0.0.1 and ::1)
  --local-room NAME          Bridge the \`shmooze local\` room NAME with a channel: local
                             participants appear as ann|local, network messages reach the
                             room from "irc" (default: no bridge)
  --bridge-channel CHANNEL   The channel bridged with --local-room (default: #lobby)
  --oper-file FILE           Server operators, one "NAME HASH" line each (HASH from
                             \`shmooze oper-hash\`; # starts a comment). The file must be
                             yours and closed to others (chmod 600). OPER NAME PASSWORD
                             then gives user mode +o; REHASH or SIGHUP re-reads the file
                             (a bad file keeps the old list) (default: no operators)

  --min-password-length N    Shortest password REGISTER accepts for a new account, 1 to
                             256 (default: 8)
  --push-contact URI         Who runs this server, told to push services with every push
                             (VAPID): a mailto: or https: URI (default: mailto:push@NAME)
  --push-allow-internal      Let push endpoints be on loopback or private addresses (and plain
                             http to loopback): only for a push service on your own network
                             or tests; otherwise a client could make the server send requests
                             inside your network (default: refused)

  --cluster URL              Run as one node of a cluster through NATS JetStream at URL
                             (nats://HOST:PORT, or tls://HOST:PORT to require TLS;
                             nats-server -js): users, nicks, channel membership and messages
                             are shared by every node of the cluster, see docs/cluster.md
                             (default: alone, no NATS)
  --cluster-name NAME        Nodes with the same name form one cluster: letters, digits, "-",
                             "_" (default: shmooze)
  --node-name NAME           This node's name in the cluster, in its msgids and logs; a random
                             part is added, so each run is a new node (default: host and pid)
  --cluster-creds FILE       NATS credentials: FILE holds one line, USER:PASSWORD or a token
                             (nats-server.conf's authorization block; default: none)
  --cluster-ca FILE          With a tls:// URL: the PEM certificate of the private CA that
                             signed nats-server's certificate (default: the system's CAs)
  --history URL              With --cluster: keep the cluster's history in PostgreSQL at URL
                             (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE), written by
                             every node and read by CHATHISTORY on any node; kept
                             --retention-days (default: each node's own SQLite, as alone)
  --cluster-retention MIN    How long the cluster's log keeps an entry, in minutes; a node
                             starts from the cluster's snapshot, written every quarter of it
                             (at most every 5 minutes) (default: 1440, a day; at least 10)
  --workers N                Serve from N processes on this machine, 1 to 64: they share the
                             ports (SO_REUSEPORT, Linux) and are one chat through a shared-memory
                             ring (with --cluster: through NATS instead). Worker K keeps its
                             data in DIR/worker-K; worker 1 publishes the status board; a worker
                             that dies is started again; no operator console. See
                             docs/cluster.md (default: one process)
  --ring-size BYTES          With --workers: the shared-memory ring's size, a multiple of 16
                             from 65536 to 1073741824; a worker further behind than the ring
                             stops; a new worker starts from the workers' snapshot
                             (DIR/workers.snapshot, written every 10 s and on stop) and the
                             ring after it (default: 16777216, some 80 000 messages)

Accounts (REGISTER, SASL PLAIN) are kept in the data directory, accounts.sqlite. SASL PLAIN
and REGISTER are refused on plain TCP except from loopback: use TLS. Server bans (KLINE, or
/kline on the console) are kept there too, in bans.sqlite. Push notifications (IRCv3
draft/webpush) for logged-in clients: subscriptions and the VAPID key are in push.sqlite.

The first line printed is "listening on HOST:PORT" (the real port when 0 was asked); with
TLS, the next is "listening with TLS on HOST:PORT", and with --tls-self-signed then
"self-signed TLS for NAMES; clients pass --ca FILE".
With --cluster, "node NODE of cluster NAME at URL" follows. With --workers, the last line is
"N workers (pids …) share these ports over the shared-memory ring NAME" (or "as nodes of
cluster NAME at URL").
With --local-room, "bridging local room NAME with CHANNEL" follows.
Unless --no-http, a line "http on HOST:PORT" follows ("https on HOST:PORT" with TLS: the
web side then uses the same certificate, and the chat page connects with WSS), then, unless
--no-uploads, "uploads at URL" with the upload URL IRC clients are told of (ISUPPORT
draft/FILEHOST); listening on every address (0.0.0.0, ::) names no URL to tell, so the line
says to give --http-public-url, and IRC clients are told none.

Uploads (POST /upload) come from logged-in accounts (HTTP Basic with the account's password,
over HTTPS or from this machine), are stored in DIR/files/ with their details in
DIR/files.sqlite, kept --retention-days like history, and served at /files/ID/NAME to anyone
with the link; an upload's type comes from its bytes (PNG, JPEG, GIF, WebP, PDF, text), and
only images are shown in the browser: the rest is a download.
Lines typed on standard input go to #lobby as *server*.
${CONSOLE_HELP}
SIGINT or SIGTERM: every client is told "Server shutting down", history is closed and the
status board removed; exit code 0. When standard input is not a terminal, its end does not
stop the server.

Exit codes: 0 after a shutdown; 1, with one line saying what to change, when it cannot start:
a port in use, a --host that is not this machine's, a data directory that is a file, cannot be
written or belongs to another user, TLS files that cannot be read or are swapped, an operator
file that cannot be read, is open to others or has a wrong line (the line is named).

Examples:
  shmooze serve
  shmooze serve --port 6667 --data ./chat-data --motd "Welcome to the OS course"
  shmooze serve --host 127.0.0.1 --port 0 --no-status --flood-burst 0
  shmooze serve --http-port 8080 --allowed-origin https://chat.example.com
  shmooze serve --tls-cert /etc/shmooze/cert.pem --tls-key /etc/shmooze/key.pem
  shmooze serve --tls-self-signed --tls-name chat.example.org --tls-name 192.0.2.7
  shmooze serve --local-room lobby --bridge-channel #lobby
  shmooze serve --oper-file ~/.config/shmooze/opers.conf
  shmooze serve --http-public-url https://chat.example.com --upload-max-bytes 26214400`;

function defaultDataDirText(): string {
  try {
    return defaultDataDir();
  } catch {
    return "a per-OS data directory";
  }
}

function readTls(values: Values): TlsOptions | undefined {
  const certFile = values["tls-cert"];
  const keyFile = values["tls-key"];
  if (certFile === undefined && keyFile === undefined) {
    if (values["tls-port"] !== undefined) {
      throw new UsageError("--tls-port needs --tls-cert and --tls-key, or --tls-self-signed");
    }
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    throw new UsageError("--tls-cert and --tls-key must be given together");
  }
  const read = (option: string, file: unknown) => {
    try {
      return Deno.readTextFileSync(String(file));
    } catch (error) {
      throw new CliError(`Cannot read ${option} "${file}": ${(error as Error).message}`);
    }
  };
  const cert = read("--tls-cert", certFile);
  const key = read("--tls-key", keyFile);
  const hasCert = (pem: string) => pem.includes("-----BEGIN CERTIFICATE-----");
  const hasKey = (pem: string) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem);
  if (!hasCert(cert) && hasKey(cert) && hasCert(key)) {
    throw new CliError(
      `--tls-cert "${certFile}" holds a private key and --tls-key "${keyFile}" a certificate: swap them`,
    );
  }
  if (!hasCert(cert)) {
    throw new CliError(
      `--tls-cert "${certFile}" holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`,
    );
  }
  if (!hasKey(key)) {
    throw new CliError(
      `--tls-key "${keyFile}" holds no PEM private key (no "-----BEGIN … PRIVATE KEY-----" line)`,
    );
  }
  const warning = caCertificateWarning(String(certFile), cert);
  if (warning !== undefined) console.error(warning);
  return { cert, key, port: intOption(values, "tls-port", 54443, { max: 65535 }) };
}

/** What to do when another live server has this port's status board (on another address). */
const BUSY_BOARD = "stop that server, choose another port with --port, or run without a " +
  "status board (--no-status)";

/**
 * A failure of startServer as the one line `serve` prints. Its typed errors (a listener, the
 * data directory) get the flag to change; other plain errors are the run-time failures it
 * documents and say what failed; a status board another server holds gets what to do.
 * JavaScript's own errors (TypeError …) are bugs and pass unchanged.
 */
function startFailure(error: unknown): unknown {
  const bug = [TypeError, RangeError, ReferenceError, SyntaxError]
    .some((kind) => error instanceof kind);
  if (!(error instanceof Error) || bug) return error;
  if (error instanceof IpcError) {
    return new CliError(advised(error, (ipc) => ipc.code === "EBUSY" ? BUSY_BOARD : undefined));
  }
  const hinted = withHint(error);
  return hinted instanceof CliError ? hinted : new CliError(error.message);
}

function readCluster(
  values: Values,
):
  | Required<Omit<ClusterOptions, "node" | "history" | "ring" | "onLost" | "snapshotFile">>
    & ClusterOptions
  | undefined {
  const url = values.cluster;
  const ring = values["worker-ring"];
  if (url === undefined && ring !== undefined) {
    // A worker of `serve --workers`: its parent named the ring, the snapshot file and this node.
    const snapshot = values["worker-snapshot"];
    return {
      url: "",
      ring: String(ring),
      name: "workers",
      node: String(values["node-name"]),
      access: {},
      // The ring keeps what fits in it; the snapshot file what came before (docs/cluster.md).
      retentionMs: 0,
      ...(snapshot === undefined ? {} : { snapshotFile: String(snapshot) }),
    };
  }
  if (url === undefined) {
    if (values.history !== undefined) {
      throw new UsageError(
        "--history needs --cluster: a server alone keeps its history in SQLite in its data directory",
      );
    }
    for (
      const flag of [
        "cluster-name",
        "node-name",
        "cluster-creds",
        "cluster-ca",
        "cluster-retention",
      ]
    ) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --cluster`);
    }
    return undefined;
  }
  const access = readNatsAccess(values, String(url));
  const history = values.history === undefined ? undefined : String(values.history);
  if (history !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(history)) {
    throw new UsageError(
      "--history must be a PostgreSQL URL such as postgres://shmooze@127.0.0.1:5432/shmooze",
    );
  }
  const name = stringOption(values, "cluster-name", "shmooze");
  const problem = clusterNameProblem(name);
  if (problem !== undefined) throw new UsageError(`--cluster-name: ${problem}`);
  const node = values["node-name"] === undefined ? undefined : String(values["node-name"]);
  if (node !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(node)) {
    throw new UsageError(
      `--node-name must be 1 to 64 letters, digits, ".", "-" or "_", not "${node}"`,
    );
  }
  const retentionMs = intOption(values, "cluster-retention", 1440, { min: 10, max: 525_600 }) *
    60_000;
  return {
    url: String(url),
    name,
    node,
    access,
    retentionMs,
    ...(history === undefined ? {} : { history }),
  };
}

function readBridge(values: Values): BridgeOptions | undefined {
  const room = values["local-room"];
  if (room === undefined) {
    if (values["bridge-channel"] !== undefined) {
      throw new UsageError("--bridge-channel needs --local-room");
    }
    return undefined;
  }
  if (room === "") throw new UsageError("--local-room must not be empty");
  const channel = stringOption(values, "bridge-channel", LOBBY);
  const problem = channelProblem(channel);
  if (problem !== undefined) throw new UsageError(`--bridge-channel "${channel}": ${problem}`);
  return { room: String(room), channel };
}

function readPublicUrl(values: Values): URL | undefined {
  const text = values["http-public-url"];
  if (text === undefined) return undefined;
  if (values["no-http"] === true) {
    throw new UsageError("--http-public-url needs HTTP: remove --no-http");
  }
  try {
    return parsePublicUrl(String(text));
  } catch (error) {
    throw new UsageError(`--http-public-url: ${(error as Error).message}`);
  }
}

/** The upload limits, or false with --no-uploads (then none of them may be given). */
function readUploads(values: Values): ServerOptions["uploads"] {
  const flags = [
    "upload-max-bytes",
    "uploads-per-hour",
    "upload-quota-bytes",
    "upload-total-bytes",
  ];
  if (values["no-uploads"] === true) {
    const given = flags.find((flag) => values[flag] !== undefined);
    if (given !== undefined) throw new UsageError(`--${given} cannot be used with --no-uploads`);
    return false;
  }
  const MiB = 1024 * 1024;
  return {
    maxFileBytes: intOption(values, "upload-max-bytes", 10 * MiB, { min: 1, max: 1024 * MiB }),
    uploadsPerHour: intOption(values, "uploads-per-hour", 60, { min: 1 }),
    quotaBytes: intOption(values, "upload-quota-bytes", 256 * MiB, { min: 1 }),
    totalBytes: intOption(values, "upload-total-bytes", 10 * 1024 * MiB, { min: 1 }),
  };
}

function readMotd(values: Record<string, unknown>): string {
  const file = values["motd-file"];
  if (file !== undefined && values.motd !== undefined) {
    throw new UsageError("--motd and --motd-file cannot be used together");
  }
  if (file !== undefined) {
    try {
      return Deno.readTextFileSync(String(file)).replace(/\r?\n$/, "");
    } catch (error) {
      throw new CliError(`Cannot read --motd-file "${file}": ${(error as Error).message}`);
    }
  }
  return values.motd === undefined ? DEFAULT_MOTD : String(values.motd).replaceAll("\\n", "\n");
}

/**
 * A worker stops on SIGTERM from its parent. Ctrl-C in a terminal sends SIGINT to the whole
 * process group, workers included: they leave it to the parent, which stops them in order (a
 * worker that stopped on its own first would look dead to it).
 */
function workerSignals(stop: (signal: string) => void): () => void {
  const ignore = () => {};
  const terminate = () => stop("SIGTERM");
  Deno.addSignalListener("SIGINT", ignore);
  Deno.addSignalListener("SIGTERM", terminate);
  return () => {
    Deno.removeSignalListener("SIGINT", ignore);
    Deno.removeSignalListener("SIGTERM", terminate);
  };
}

/** The `serve` options a worker of `--workers` gets from its parent, not from the user. */
const PER_WORKER = new Set([
  "workers",
  "port",
  "http-port",
  "tls-port",
  "no-http",
  "data",
  "node-name",
  "no-status",
  "tls-self-signed",
  "tls-name",
  "worker",
  "worker-ring",
  "worker-snapshot",
  "ring-size",
]);
const BOOLEAN = new Set(["no-http", "no-status", "tls-self-signed"]);

/**
 * The arguments every worker gets: the user's, without those set per worker, and with a
 * self-signed certificate the parent made (or found) given as files, so all share it.
 */
function workerArgs(args: string[], selfSigned?: { certFile: string; keyFile: string }): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const match = /^--([^=]+)(=.*)?$/.exec(args[i]);
    if (match === null || !PER_WORKER.has(match[1])) {
      kept.push(args[i]);
      continue;
    }
    if (match[2] === undefined && !BOOLEAN.has(match[1])) i++;
  }
  return selfSigned === undefined
    ? kept
    : [...kept, "--tls-cert", selfSigned.certFile, "--tls-key", selfSigned.keyFile];
}

/**
 * `shmooze serve`: the chat server.
 *
 * @example Mistakes on the command line are refused before anything listens
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveCommand } from "./serve.ts";
 *
 * assert.match(serveCommand.help, /^Usage: shmooze serve \[options\]/);
 * await assert.rejects(serveCommand.run(["--name", "my server"]), {
 *   name: "UsageError",
 *   message: `--name must be letters, digits, '.' and '-', not "my server"`,
 * });
 * await assert.rejects(serveCommand.run(["--tls-cert", "cert.pem"]), {
 *   name: "UsageError",
 *   message: "--tls-cert and --tls-key must be given together",
 * });
 * await assert.rejects(serveCommand.run(["--bridge-channel", "#dev"]), {
 *   message: "--bridge-channel needs --local-room",
 * });
 * ```
 */
export const serveCommand: Command = {
  name: "serve",
  summary: "Run the IRC-compatible chat server",
  help,
  async run(args) {
    const { values } = parseCommandArgs("serve", args, {
      host: { type: "string" },
      port: { type: "string" },
      name: { type: "string" },
      data: { type: "string" },
      "retention-days": { type: "string" },
      motd: { type: "string" },
      "motd-file": { type: "string" },
      "no-status": { type: "boolean" },
      "max-line": { type: "string" },
      "max-tags": { type: "string" },
      "flood-burst": { type: "string" },
      "flood-rate": { type: "string" },
      "max-conn-per-ip": { type: "string" },
      "conn-per-minute": { type: "string" },
      "max-unregistered": { type: "string" },
      "history-budget": { type: "string" },
      sendq: { type: "string" },
      "ping-interval": { type: "string" },
      "ping-timeout": { type: "string" },
      "registration-timeout": { type: "string" },
      "flush-ms": { type: "string" },
      "http-port": { type: "string" },
      "http-host": { type: "string" },
      "no-http": { type: "boolean" },
      "allowed-origin": { type: "string", multiple: true },
      "http-allowed-host": { type: "string", multiple: true },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-port": { type: "string" },
      "tls-self-signed": { type: "boolean" },
      "tls-name": { type: "string", multiple: true },
      "local-room": { type: "string" },
      "bridge-channel": { type: "string" },
      "oper-file": { type: "string" },
      "min-password-length": { type: "string" },
      "http-public-url": { type: "string" },
      "upload-max-bytes": { type: "string" },
      "uploads-per-hour": { type: "string" },
      "upload-quota-bytes": { type: "string" },
      "upload-total-bytes": { type: "string" },
      "no-uploads": { type: "boolean" },
      "push-contact": { type: "string" },
      "push-allow-internal": { type: "boolean" },
      cluster: { type: "string" },
      "cluster-name": { type: "string" },
      "cluster-retention": { type: "string" },
      "node-name": { type: "string" },
      "cluster-creds": { type: "string" },
      "cluster-ca": { type: "string" },
      history: { type: "string" },
      workers: { type: "string" },
      "ring-size": { type: "string" },
      // Set by the parent of `serve --workers` on its workers only.
      worker: { type: "string" },
      "worker-ring": { type: "string" },
      "worker-snapshot": { type: "string" },
    });
    const name = stringOption(values, "name", "shmooze");
    if (!/^[A-Za-z0-9.-]+$/.test(name)) {
      throw new UsageError(`--name must be letters, digits, '.' and '-', not "${name}"`);
    }
    const limits: Partial<IrcLimits> = {
      maxLine: intOption(values, "max-line", d.maxLine, { min: 64, max: 65536 }),
      maxTags: intOption(values, "max-tags", d.maxTags, { min: 0, max: 65536 }),
      floodBurst: intOption(values, "flood-burst", d.floodBurst),
      floodRate: intOption(values, "flood-rate", d.floodRate, { min: 1 }),
      maxConnectionsPerIp: intOption(values, "max-conn-per-ip", d.maxConnectionsPerIp, {
        min: 1,
      }),
      connectionsPerMinute: intOption(values, "conn-per-minute", d.connectionsPerMinute, {
        min: 1,
      }),
      maxUnregisteredBytes: intOption(values, "max-unregistered", d.maxUnregisteredBytes, {
        min: 1024,
      }),
      historyBudget: intOption(values, "history-budget", d.historyBudget, { min: 1 }),
      sendQ: intOption(values, "sendq", d.sendQ, { min: 1024 }),
      pingInterval: intOption(values, "ping-interval", d.pingInterval, { min: 1 }),
      pingTimeout: intOption(values, "ping-timeout", d.pingTimeout, { min: 1 }),
      registrationTimeout: intOption(values, "registration-timeout", d.registrationTimeout, {
        min: 1,
      }),
    };
    const data = stringOption(values, "data", "");
    const allowedOrigins = (values["allowed-origin"] ?? []) as string[];
    const badOrigin = allowedOrigins.find((origin) => normalizeOrigin(origin) === undefined);
    if (badOrigin !== undefined) {
      throw new UsageError(
        `--allowed-origin must be an origin such as https://chat.example.com, not "${badOrigin}"`,
      );
    }
    const allowedHosts = (values["http-allowed-host"] ?? []) as string[];
    const badHost = allowedHosts.find((host) => hostName(host) === undefined);
    if (badHost !== undefined) {
      throw new UsageError(
        `--http-allowed-host must be a host name such as chat.example.com, not "${badHost}"`,
      );
    }
    const publicUrl = readPublicUrl(values);
    const uploads = readUploads(values);
    const selfSigned = await readSelfSignedTls(values);
    const tls = selfSigned?.tls ?? readTls(values);
    const localRoom = readBridge(values);
    const cluster = readCluster(values);
    if (cluster !== undefined && localRoom !== undefined) {
      throw new UsageError(
        "--local-room cannot be used with --cluster (yet): the bridge's users are not replicated",
      );
    }
    const log = getLogger(["shmooze", "serve"]);
    const workers = values.workers === undefined
      ? undefined
      : intOption(values, "workers", 1, { min: 1, max: 64 });
    if (workers !== undefined && Deno.build.os !== "linux") {
      // Elsewhere Deno ignores SO_REUSEPORT, and the second worker could not listen.
      throw new CliError(
        `--workers needs Linux, which spreads connections over processes sharing a port; ${Deno.build.os} does not: run one serve`,
      );
    }
    if (workers !== undefined && localRoom !== undefined) {
      throw new UsageError(
        "--local-room cannot be used with --workers (yet): the bridge's users are not replicated",
      );
    }
    if (values["ring-size"] !== undefined && (workers === undefined || cluster !== undefined)) {
      throw new UsageError("--ring-size needs --workers without --cluster");
    }
    const ringBytes = intOption(values, "ring-size", DEFAULT_RING_BYTES, RING_SIZE_RANGE);
    if (ringBytes % 16 !== 0) {
      throw new UsageError(`--ring-size must be a multiple of 16, not ${ringBytes}`);
    }
    const worker = values.worker === undefined ? undefined : Number(values.worker);
    const http = values["no-http"] === true ? undefined : {
      hostname: stringOption(values, "http-host", stringOption(values, "host", "0.0.0.0")),
      port: intOption(values, "http-port", 54080, { max: 65535 }),
      allowedOrigins,
      allowedHosts,
      tls: tls && { cert: tls.cert, key: tls.key },
      publicUrl,
    };
    const host = stringOption(values, "host", "0.0.0.0");
    const operFile = values["oper-file"] === undefined ? undefined : String(values["oper-file"]);
    if (operFile === "") throw new UsageError("--oper-file must not be empty");
    const pushContact = stringOption(values, "push-contact", `mailto:push@${name}`);
    if (!/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/.test(pushContact)) {
      throw new UsageError(
        `--push-contact must be a mailto: or https: URI such as mailto:ops@chat.example.com, not "${pushContact}"`,
      );
    }
    if (workers !== undefined) {
      return await runWorkers({
        count: workers,
        args: workerArgs(args, selfSigned?.selfSigned),
        host,
        port: intOption(values, "port", 54000, { max: 65535 }),
        httpPort: http?.port,
        httpHost: values["http-host"] === undefined ? undefined : http?.hostname,
        tlsPort: tls?.port,
        dataDir: data === "" ? defaultDataDir() : data,
        status: values["no-status"] !== true,
        nodeName: values["node-name"] === undefined ? "w" : `${values["node-name"]}-w`,
        cluster: cluster && { url: cluster.url, name: cluster.name },
        ringBytes,
      }).catch((error) => {
        throw startFailure(error);
      });
    }
    // Set when this node can no longer follow the others (it fell a whole shared-memory ring
    // behind, or behind the log's retention): it stops, exit 1.
    let lost: Error | undefined;
    const server = await startServer({
      hostname: host,
      port: intOption(values, "port", 54000, { max: 65535 }),
      name,
      dataDir: data === "" ? undefined : data,
      retentionDays: intOption(values, "retention-days", 30),
      motd: readMotd(values),
      status: values["no-status"] !== true,
      limits,
      flushIntervalMs: intOption(values, "flush-ms", 0, { max: 1000 }),
      tls,
      operFile,
      minPasswordLength: intOption(values, "min-password-length", MIN_PASSWORD_LENGTH, {
        min: 1,
        max: MAX_PASSWORD_LENGTH,
      }),
      uploads,
      push: { subject: pushContact, allowInternal: values["push-allow-internal"] === true },
      cluster: cluster && {
        ...cluster,
        onLost: (error) => {
          // Its hub can no longer follow the others': stop, and let the parent know (exit 1).
          log.error("{error}: stopping this worker", { error });
          lost = error;
          void server.close();
        },
      },
      reusePort: worker !== undefined,
    }).catch((error) => {
      throw startFailure(error);
    });
    // Listen for signals before telling anyone we are up: a SIGTERM that follows the first
    // printed line must shut down cleanly, not kill the process.
    const stop = (signal: string) => {
      log.info(`${signal}: shutting down`);
      server.close();
    };
    const stopListening = worker === undefined ? onStopSignals(stop) : workerSignals(stop);
    // SIGHUP re-reads the operator file, as REHASH does; without one it keeps its default
    // meaning (the terminal went away: stop). Windows has no SIGHUP.
    const rehash = () => server.moderation.rehash("SIGHUP");
    const hangUp = operFile !== undefined && Deno.build.os !== "windows";
    if (hangUp) Deno.addSignalListener("SIGHUP", rehash);
    console.log(`listening on ${server.hostname}:${server.port}`);
    if (server.tlsPort !== undefined) {
      console.log(`listening with TLS on ${server.hostname}:${server.tlsPort}`);
    }
    if (selfSigned) console.log(selfSignedLine(selfSigned.selfSigned));
    if (server.cluster !== undefined && cluster !== undefined) {
      console.log(`node ${server.cluster.node} of cluster ${cluster.name} at ${cluster.url}`);
    }
    // A node that fell behind the log's retention cannot know the state any more: it stops.
    void server.cluster?.failed.then((error) => {
      lost = error;
      server.close();
    });
    if (localRoom) {
      try {
        server.bridge(localRoom);
      } catch (error) {
        await server.close();
        throw new CliError(advised(error, (ipc) => roomAdvice(ipc, { room: "--local-room" })));
      }
      console.log(`bridging local room ${localRoom.room} with ${localRoom.channel}`);
    }
    const web = http &&
      await startHttpTransport(server, { ...http, reusePort: worker !== undefined }).catch(
        async (error) => {
          await server.close();
          throw startFailure(error);
        },
      );
    if (web) console.log(`${tls ? "https" : "http"} on ${web.hostname}:${web.port}`);
    if (web && server.files) {
      console.log(
        web.uploadUrl === undefined
          ? `uploads at /upload, told to no IRC client: HTTP listens on every address; give --http-public-url`
          : `uploads at ${web.uploadUrl}`,
      );
    }
    if (worker === undefined) {
      runConsole(server, {
        input: Deno.stdin.readable,
        interactive: Deno.stdin.isTerminal(),
        print: (line) => console.log(line),
      });
    } else {
      // A worker's standard input is its parent's pipe: it closes when the parent ends, even
      // by kill -9, and the worker must not outlive it.
      console.log(WORKER_READY);
      void (async () => {
        for await (const _ of Deno.stdin.readable) { /* nothing is sent on it */ }
        log.info("The parent of this worker is gone: shutting down");
        server.close();
      })();
    }
    await server.finished;
    await web?.shutdown();
    stopListening();
    if (hangUp) Deno.removeSignalListener("SIGHUP", rehash);
    log.info("Server stopped");
    if (lost !== undefined) throw new CliError(lost.message);
    return 0;
  },
};
