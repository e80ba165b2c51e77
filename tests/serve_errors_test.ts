/**
 * Ordinary mistakes when starting `serve` end with one line that names the flag and the
 * fix, and exit code 1: never a stack trace, never exit 70.
 */
import assert from "node:assert/strict";
import { spawn } from "./_helpers.ts";
import { makeTestCertificate } from "./_tls.ts";

/** Runs `serve` with the arguments until it exits; it is expected not to start. */
async function serve(args: string[], env: Record<string, string> = {}) {
  await using child = spawn(
    ["main.ts", "serve", "--port", "0", "--no-http", "--no-status", ...args],
    { env },
  );
  await child.closeStdin();
  return await child.done;
}

/** Exit 1, nothing on standard output, one line on standard error that matches. */
function assertOneLine(
  result: { code: number; stdout: string; stderr: string },
  pattern: RegExp,
): void {
  const { code, stdout, stderr } = result;
  assert.equal(code, 1, stderr);
  assert.equal(stdout, "");
  assert.equal(stderr.trimEnd().split("\n").length, 1, `more than one line:\n${stderr}`);
  assert.match(stderr, /^error: /);
  assert.match(stderr, pattern);
}

async function withDataDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-serve-errors-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("serve refuses a --data that is a file in one line, exit 1", async () => {
  await withDataDir(async (dir) => {
    const file = `${dir}/not-a-directory`;
    await Deno.writeTextFile(file, "");
    assertOneLine(await serve(["--data", file]), /"[^"]*not-a-directory": it is a file.*--data/);
    assertOneLine(await serve(["--data", `${file}/sub`]), /not-a-directory\/sub".*--data/);
  });
});

Deno.test({
  name: "serve refuses a --data it cannot write in one line, exit 1",
  ignore: Deno.build.os === "windows",
  async fn() {
    await withDataDir(async (dir) => {
      // Root writes anywhere a mode allows nothing, but not in an immutable directory.
      const lock = Deno.uid() === 0 ? ["chattr", "+i", dir] : ["chmod", "500", dir];
      const unlock = Deno.uid() === 0 ? ["chattr", "-i", dir] : ["chmod", "700", dir];
      const run = (argv: string[]) => new Deno.Command(argv[0], { args: argv.slice(1) }).output();
      assert.ok((await run(lock)).success, `${lock.join(" ")} failed`);
      try {
        assertOneLine(
          await serve(["--data", dir]),
          /Cannot open history database ".*history\.sqlite": .*; choose a directory you can write with --data$/m,
        );
      } finally {
        await run(unlock);
      }
    });
  },
});

Deno.test("serve without --data, SHMOOZE_DATA or HOME says to pass --data in one line, exit 1", async () => {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "main.ts", "serve", "--port", "0", "--no-http", "--no-status"],
    cwd: new URL("../", import.meta.url).pathname,
    clearEnv: true,
    env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "", DENO_DIR: denoDir() },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  assertOneLine(
    { code: result.code, stdout: decode(result.stdout), stderr: decode(result.stderr) },
    /neither SHMOOZE_DATA nor HOME is set; pass --data DIR/,
  );
});

/** Where Deno keeps its cache, so a child with a cleared environment still finds it. */
function denoDir(): string {
  const explicit = Deno.env.get("DENO_DIR");
  if (explicit) return explicit;
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`;
  return `${cache}/deno`;
}

for (const host of ["no-such-host.invalid", "192.0.2.1", "bad host"]) {
  Deno.test(`serve refuses --host "${host}" in one line naming --host, exit 1`, async () => {
    await withDataDir(async (dir) => {
      assertOneLine(
        await serve(["--host", host, "--data", dir]),
        new RegExp(
          `Cannot listen for IRC on ${host}:0: .*; --host "${host}" must be an address of this machine`,
        ),
      );
    });
  });
}

Deno.test("serve refuses swapped --tls-cert and --tls-key in one line, exit 1", async () => {
  await using certificate = await makeTestCertificate();
  await withDataDir(async (dir) => {
    const { certFile, keyFile } = certificate;
    const tls = ["--tls-port", "0", "--data", dir];
    assertOneLine(
      await serve(["--tls-cert", keyFile, "--tls-key", certFile, ...tls]),
      /--tls-cert ".*key\.pem" holds a private key and --tls-key ".*cert\.pem" a certificate: swap them/,
    );
    assertOneLine(
      await serve(["--tls-cert", certFile, "--tls-key", certFile, ...tls]),
      /--tls-key ".*cert\.pem" holds no PEM private key/,
    );
    const garbage = `${dir}/garbage.pem`;
    await Deno.writeTextFile(
      garbage,
      "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    );
    assertOneLine(
      await serve(["--tls-cert", garbage, "--tls-key", keyFile, ...tls]),
      /--tls-cert must be a PEM certificate \(chain\) and --tls-key its PEM private key/,
    );
  });
});
