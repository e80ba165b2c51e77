/**
 * Every listener survives running out of file descriptors: `serve` runs under a low
 * `ulimit -n`, a flood of connections exhausts its descriptors so accept() fails with
 * EMFILE on the IRC and the HTTP listener, and once the flood is gone both accept again.
 */
import assert from "node:assert/strict";
import { ROOT } from "./_helpers.ts";
import { IrcTestClient } from "./_irc.ts";
import { LineLog } from "./fixtures/web_clients.ts";

/** The descriptor limit the server runs under: what the runtime needs, and a few dozen more. */
const FD_LIMIT = 128;

/** A `serve` child under a descriptor limit, with its output lines. */
interface LimitedServe {
  readonly process: Deno.ChildProcess;
  readonly port: number;
  readonly httpPort: number;
  readonly stdout: LineLog;
  readonly stderr: LineLog;
  [Symbol.asyncDispose](): Promise<void>;
}

async function pipeLines(stream: ReadableStream<Uint8Array>, log: LineLog): Promise<void> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (pending + text).split("\n");
    pending = lines.pop()!;
    for (const line of lines) log.push(line);
  }
  if (pending) log.push(pending);
}

async function startLimitedServe(fdLimit: number, args: string[]): Promise<LimitedServe> {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-accept-test-" });
  // `exec` keeps the pid: the process killed at the end is the server itself.
  const process = new Deno.Command("sh", {
    args: [
      "-c",
      `ulimit -n ${fdLimit} && exec "$0" "$@"`,
      Deno.execPath(),
      ...["run", "-A", "--quiet", "main.ts", "serve", "--host", "127.0.0.1", "--port", "0"],
      ...["--http-port", "0", "--no-status", "--data", dataDir, ...args],
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stdout = new LineLog();
  const stderr = new LineLog();
  const reading = Promise.all([
    pipeLines(process.stdout, stdout),
    pipeLines(process.stderr, stderr),
  ]);
  const dispose = async () => {
    try {
      process.kill("SIGKILL");
    } catch { /* already exited */ }
    await process.status;
    await reading;
    await Deno.remove(dataDir, { recursive: true });
  };
  try {
    const portOf = (line: string) => Number(line.slice(line.lastIndexOf(":") + 1));
    const port = portOf(await stdout.waitFor(/^listening on /, 20_000));
    const httpPort = portOf(await stdout.waitFor(/^http on /, 20_000));
    return { process, port, httpPort, stdout, stderr, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

Deno.test({
  name: "serve keeps accepting on IRC and HTTP after running out of file descriptors, " +
    "logs once per burst and counts the errors in /metrics",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using serve = await startLimitedServe(FD_LIMIT, ["--max-conn-per-ip", "1000"]);
    const flood: Deno.Conn[] = [];
    try {
      // More connections than the server has descriptors: the last ones wait in the
      // listen queue, and each attempt to accept them fails with EMFILE.
      for (let i = 0; i < FD_LIMIT + 20; i++) {
        flood.push(await Deno.connect({ hostname: "127.0.0.1", port: serve.port }));
      }
      await serve.stderr.waitFor(/Accepting connections on irc failed: Too many open files/);
      for (let i = 0; i < 5; i++) {
        flood.push(await Deno.connect({ hostname: "127.0.0.1", port: serve.httpPort }));
      }
      await serve.stderr.waitFor(/Accepting connections on http failed: Too many open files/);
    } finally {
      for (const conn of flood) conn.close();
    }
    const closedAt = performance.now();

    await using tom = await IrcTestClient.register(serve.port, "tom");
    const ircBackMs = performance.now() - closedAt;
    assert.equal(tom.nick, "tom");
    const health = await fetch(`http://127.0.0.1:${serve.httpPort}/healthz`);
    assert.equal(await health.text(), "ok\n");
    const httpBackMs = performance.now() - closedAt;
    console.log(
      `after the last close: IRC accepts again in ${ircBackMs.toFixed(0)} ms, ` +
        `HTTP in ${httpBackMs.toFixed(0)} ms`,
    );
    assert.ok(ircBackMs < 5000 && httpBackMs < 5000);

    const metrics = await (await fetch(`http://127.0.0.1:${serve.httpPort}/metrics`)).text();
    const errors = (listener: string) =>
      Number(
        new RegExp(`^shmooze_accept_errors_total\\{listener="${listener}"\\} (\\d+)$`, "m")
          .exec(metrics)?.[1],
      );
    assert.ok(errors("irc") > 0, metrics);
    assert.ok(errors("http") > 0, metrics);
    // One warning per listener for the whole burst, however many attempts failed.
    const warnings = (listener: string) =>
      serve.stderr.lines.filter((line) => line.includes(`connections on ${listener} failed`))
        .length;
    assert.equal(warnings("irc"), 1);
    assert.equal(warnings("http"), 1);
    await serve.stderr.waitFor(/Accepting connections on irc again after \d+ failed attempts/);
  },
});
