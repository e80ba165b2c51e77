import assert from "node:assert/strict";
import { spawn } from "./_helpers.ts";

async function run(...args: string[]) {
  await using child = spawn(["main.ts", ...args]);
  await child.closeStdin();
  return await child.done;
}

Deno.test("shmooze --help lists every subcommand and exits 0", async () => {
  const result = await run("--help");
  assert.deepEqual(result.code, 0);
  for (const name of ["serve", "client", "local", "status", "demo", "ipc", "bench"]) {
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
