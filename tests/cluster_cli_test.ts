/**
 * `serve --cluster` mistakes end in one line: a flag misused is a usage error (exit 2), a NATS
 * server that is not there a run-time error (exit 1) naming the URL; never a stack trace.
 */
import assert from "node:assert/strict";
import { spawn } from "./_helpers.ts";

async function serve(args: string[]) {
  const data = await Deno.makeTempDir({ prefix: "shmooze-cluster-cli-" });
  try {
    await using child = spawn([
      "main.ts",
      "serve",
      "--port",
      "0",
      "--no-http",
      "--no-status",
      "--data",
      data,
      ...args,
    ]);
    await child.closeStdin();
    return await child.done;
  } finally {
    await Deno.remove(data, { recursive: true });
  }
}

/** The exit code, nothing on standard output, and the error line (a usage error adds a hint). */
function assertOneLine(
  result: { code: number; stdout: string; stderr: string },
  code: number,
  pattern: RegExp,
): void {
  assert.equal(result.code, code, result.stderr);
  assert.equal(result.stdout, "");
  const [line, ...rest] = result.stderr.trimEnd().split("\n");
  assert.deepEqual(rest, code === 2 ? ["Run `shmooze --help` for usage."] : [], result.stderr);
  assert.match(line, /^error: /);
  assert.match(line, pattern);
}

Deno.test("serve refuses a --cluster that is no nats:// URL, and cluster flags without it (exit 2)", async () => {
  assertOneLine(
    await serve(["--cluster", "http://127.0.0.1:4222"]),
    2,
    /--cluster must be a NATS URL/,
  );
  assertOneLine(await serve(["--cluster-name", "team"]), 2, /--cluster-name needs --cluster/);
  assertOneLine(await serve(["--node-name", "a"]), 2, /--node-name needs --cluster/);
  assertOneLine(
    await serve(["--cluster", "nats://127.0.0.1:4222", "--cluster-name", "a.b"]),
    2,
    /--cluster-name: Cluster name "a\.b" must be 1 to 64 letters/,
  );
  assertOneLine(
    await serve(["--cluster", "nats://127.0.0.1:4222", "--local-room", "lobby"]),
    2,
    /--local-room cannot be used with --cluster/,
  );
});

Deno.test("serve --cluster with no NATS server there says so in one line, exit 1", async () => {
  // A port that was free a moment ago: nothing listens there.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  assertOneLine(
    await serve(["--cluster", `nats://127.0.0.1:${port}`]),
    1,
    new RegExp(`^error: Cannot connect to NATS at nats://127\\.0\\.0\\.1:${port}: `),
  );
});
