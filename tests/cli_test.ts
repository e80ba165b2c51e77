import assert from "node:assert/strict";
import { ROOT, spawn } from "./_helpers.ts";

async function run(...args: string[]) {
  await using child = spawn(["main.ts", ...args]);
  await child.closeStdin();
  return await child.done;
}

Deno.test("shmooze --help lists every subcommand and exits 0", async () => {
  const result = await run("--help");
  assert.deepEqual(result.code, 0);
  for (const name of ["serve", "client", "local", "status", "demo", "ipc", "oper-hash"]) {
    assert.match(result.stdout, new RegExp(`^  ${name} `, "m"));
  }
});

Deno.test("shmooze --version prints the version from deno.json", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const result = await run("--version");
  assert.deepEqual(result.stdout.trim(), `shmooze ${denoJson.version}`);
});

Deno.test("shmooze rejects an unknown command with exit code 2 and names it", async () => {
  const result = await run("frobnicate");
  assert.deepEqual(result.code, 2);
  assert.match(result.stderr, /unknown command "frobnicate"/);
});

Deno.test("shmooze rejects an unknown flag with exit code 2 and names it", async () => {
  const result = await run("ipc", "--frobnicate");
  assert.deepEqual(result.code, 2);
  assert.match(result.stderr, /--frobnicate/);
});

Deno.test("shmooze rejects a bad --log-format with exit code 2", async () => {
  const result = await run("ipc", "ls", "--log-format", "xml");
  assert.deepEqual(result.code, 2);
  assert.match(result.stderr, /--log-format must be text or json, not "xml"/);
});

Deno.test("shmooze without --allow-all says which permission it lacks, with no stack trace", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-read", "--allow-env", "--allow-ffi", "main.ts", "status"],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(stderr);
  assert.equal(code, 1);
  assert.match(text, /^error: Requires all access to "\/dev\/shm"/);
  assert.match(text, /run it as `deno run --allow-all main\.ts …`/);
  assert.doesNotMatch(text, /\n\s+at /);
});

Deno.test("deno task install puts a working shmooze command on the PATH", async () => {
  const root = await Deno.makeTempDir({ prefix: "shmooze-install-test-" });
  try {
    // The task's own command line, with --root so the test installs into its own directory.
    const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
    const args = (config.tasks.install.command as string).split(" ").slice(1);
    const install = await new Deno.Command(Deno.execPath(), {
      args: [...args.slice(0, -1), "--root", root, args.at(-1)!],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(install.code, 0, new TextDecoder().decode(install.stderr));
    const bin = Deno.build.os === "windows" ? `${root}/bin/shmooze.cmd` : `${root}/bin/shmooze`;
    const run = await new Deno.Command(bin, { stdout: "piped", stderr: "piped" }).output();
    assert.equal(run.code, 2, "shmooze with no command shows the help and exits 2");
    assert.match(new TextDecoder().decode(run.stdout), /^shmooze \d+\.\d+\.\d+: chat over/);
    const version = await new Deno.Command(bin, { args: ["--version"], stdout: "piped" }).output();
    assert.equal(new TextDecoder().decode(version.stdout).trim(), `shmooze ${config.version}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
