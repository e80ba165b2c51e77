/**
 * Peer IRC servers for tests and benchmarks: Debian's ngircd and InspIRCd, each started in
 * the foreground on a free loopback port with a throw-away configuration.
 *
 * @module
 */

/** A running peer IRC server. */
export interface Peer {
  /** Which server it is. */
  name: "ngircd" | "inspircd";
  /** The address it listens on. */
  host: string;
  /** The port it listens on. */
  port: number;
  /** The server's process id, for reading its memory use. */
  pid: number;
  /** Kills the server, waits for it to exit and removes its configuration directory. */
  stop(): Promise<void>;
}

/** Options for {@link startNgircd} and {@link startInspircd}. */
export interface PeerOptions {
  /**
   * Lift per-client flood control, send/receive queue limits and per-IP connection limits,
   * so a benchmark can connect thousands of clients from 127.0.0.1 that each send several
   * messages a second.
   *
   * @default {false}
   */
  floodLimitsOff?: boolean;
}

const BINARIES = { ngircd: "/usr/sbin/ngircd", inspircd: "/usr/sbin/inspircd" } as const;
const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
/** Output kept for error messages: enough for a start-up failure, bounded under load. */
const OUTPUT_TAIL = 4096;

/**
 * Whether a peer's Debian binary is installed, so tests can `ignore` themselves without it.
 *
 * @param name The peer.
 * @returns True when the binary exists.
 *
 * @example Skip a test without ngircd
 * ```ts
 * import { peerAvailable } from "./_peers.ts";
 * console.log(typeof peerAvailable("ngircd")); // boolean
 * ```
 */
export function peerAvailable(name: "ngircd" | "inspircd"): boolean {
  try {
    return Deno.statSync(BINARIES[name]).isFile;
  } catch {
    return false;
  }
}

/**
 * Starts ngircd (`ngircd -n -f CONF`) on a free loopback port.
 *
 * @param options Whether to lift flood and connection limits.
 * @returns The running server, once it registers a client.
 *
 * @example Start and stop ngircd
 * ```ts ignore
 * import { startNgircd } from "./_peers.ts";
 * const peer = await startNgircd({ floodLimitsOff: true });
 * console.log(peer.port > 0); // true
 * await peer.stop();
 * ```
 */
export async function startNgircd(options: PeerOptions = {}): Promise<Peer> {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-ngircd-" });
  const port = freePort();
  // ngircd switches to "nobody" when started as root; it reads its files before that.
  const limits = options.floodLimitsOff
    ? [
      "MaxConnections = 0",
      "MaxConnectionsIP = 0",
      // 0 disables ngircd's command penalties, its only flood control.
      "MaxPenaltyTime = 0",
    ]
    : [];
  const config = [
    "[Global]",
    "Name = ngircd.shmooze.test",
    "Info = shmooze test peer",
    "AdminInfo1 = shmooze tests",
    "AdminInfo2 = localhost",
    "AdminEMail = root@localhost",
    `Listen = ${HOST}`,
    `Ports = ${port}`,
    "MotdPhrase = shmooze test peer",
    "[Limits]",
    "MaxJoins = 0",
    "MaxNickLength = 30",
    "PingTimeout = 600",
    "PongTimeout = 600",
    ...limits,
    "[Options]",
    "DNS = no",
    "Ident = no",
    "PAM = no",
    "",
  ].join("\n");
  const file = `${dir}/ngircd.conf`;
  await Deno.writeTextFile(file, config);
  return await launch("ngircd", ["-n", "-f", file], dir, port);
}

/**
 * Starts InspIRCd (`inspircd --nofork --config CONF`) on a free loopback port.
 *
 * @param options Whether to lift flood and connection limits.
 * @returns The running server, once it registers a client.
 *
 * @example Start and stop InspIRCd
 * ```ts ignore
 * import { startInspircd } from "./_peers.ts";
 * const peer = await startInspircd({ floodLimitsOff: true });
 * console.log(peer.port > 0); // true
 * await peer.stop();
 * ```
 */
export async function startInspircd(options: PeerOptions = {}): Promise<Peer> {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-inspircd-" });
  const port = freePort();
  const connect = options.floodLimitsOff
    // commandrate is in commands per 1000 s; with fakelag off and a huge threshold no client
    // is ever slowed or killed for flooding.
    ? `localmax="100000" globalmax="100000" threshold="1000000" commandrate="100000000"
         fakelag="no" softsendq="16M" hardsendq="64M" recvq="1M"`
    : `localmax="20" globalmax="20" threshold="20" commandrate="1000" fakelag="yes"
         softsendq="8192" hardsendq="1M" recvq="8192"`;
  const softlimit = options.floodLimitsOff ? 100_000 : 1024;
  const config = `
<server name="inspircd.shmooze.test" description="shmooze test peer" network="shmooze">
<admin name="shmooze tests" nick="admin" email="root@localhost">
<bind address="${HOST}" port="${port}" type="clients">
<connect name="main" allow="*" timeout="60" pingfreq="600" maxchans="100"
         resolvehostnames="no" useident="no" ${connect}>
<performance softlimit="${softlimit}" somaxconn="4096" netbuffersize="65536"
             clonesonconnect="no" quietbursts="yes">
<limits maxnick="30" maxchan="64" maxuser="16" maxhost="64" maxline="512">
<channels users="100" opers="100">
<security hideserver="" userstats="Pu" maxtargets="20">
<options prefixquit="Quit: " syntaxhints="no" announcets="yes" splitwhois="no">
<pid file="${dir}/inspircd.pid">
<whowas groupsize="0" maxgroups="0" maxkeep="0">
`;
  const file = `${dir}/inspircd.conf`;
  await Deno.writeTextFile(file, config);
  return await launch(
    "inspircd",
    ["--nofork", "--nolog", "--runasroot", "--config", file],
    dir,
    port,
  );
}

/** Asks the kernel for a free loopback port (the small race before the server binds is accepted). */
function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts a peer binary, keeps the tail of its output and waits until it registers a client. */
async function launch(
  name: Peer["name"],
  args: string[],
  dir: string,
  port: number,
): Promise<Peer> {
  const child = new Deno.Command(BINARIES[name], {
    args,
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  // The servers log every connection; draining keeps their pipes from filling and blocking.
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      output = (output + decoder.decode(chunk, { stream: true })).slice(-OUTPUT_TAIL);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then(async (s) => {
    exited = true;
    await drained;
    return s;
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* exited meanwhile */ }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      status,
      new Promise((resolve) => timer = setTimeout(resolve, STOP_TIMEOUT_MS)),
    ]);
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await waitForRegistration(port, () => exited);
  } catch (error) {
    await stop();
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot start ${name} on ${HOST}:${port}: ${why}; its output:\n${output}`);
  }
  return { name, host: HOST, port, pid: child.pid, stop };
}

/**
 * Connects and registers a nick until the server answers with 001, retrying while it is
 * still starting; bounded by READY_TIMEOUT_MS.
 */
async function waitForRegistration(port: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = "no connection attempt";
  while (Date.now() < deadline) {
    if (exited()) throw new Error("the server exited during start-up");
    try {
      if (await registers(port, deadline - Date.now())) return;
      last = "no 001 welcome";
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`it did not register a client within ${READY_TIMEOUT_MS} ms (${last})`);
}

/** One registration attempt: true once the server sends RPL_WELCOME (001). */
async function registers(port: number, timeoutMs: number): Promise<boolean> {
  const conn = await Deno.connect({ hostname: HOST, port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    await conn.write(new TextEncoder().encode("NICK probe\r\nUSER probe 0 * :probe\r\n"));
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(4096);
    let text = "";
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return false;
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
      if (/^:\S+ 001 /m.test(text)) {
        await conn.write(new TextEncoder().encode("QUIT\r\n")).catch(() => {});
        return true;
      }
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}
