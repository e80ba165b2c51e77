/**
 * Builds one shmooze executable per platform into dist/ with `deno compile`.
 *
 * `deno compile --target` downloads the Deno runtime for each target from the Deno site on
 * first use, so this needs that site to be reachable (it is not on our CI machines).
 *
 *   deno task compile              all five targets
 *   deno task compile linux-x64    only the named ones
 */
const targets: Record<string, string> = {
  "linux-x64": "x86_64-unknown-linux-gnu",
  "linux-arm64": "aarch64-unknown-linux-gnu",
  "macos-x64": "x86_64-apple-darwin",
  "macos-arm64": "aarch64-apple-darwin",
  "windows-x64": "x86_64-pc-windows-msvc",
};

// shmooze calls libc/kernel32 through FFI, which is full trust whatever else is granted,
// and it must read /dev/shm (ipc ls, status) and /proc (pid liveness, benchmarks), which
// Deno opens only under --allow-all. Narrower flags would only make those commands fail.
// `serve --workers` shares its ports with SO_REUSEPORT, which Deno allows only under
// --unstable-net; a compiled executable starts its workers as itself, so the flag is built in.
const flags = ["--allow-all", "--unstable-net"];

const wanted = Deno.args.length > 0 ? Deno.args : Object.keys(targets);
for (const name of wanted) {
  const target = targets[name];
  if (target === undefined) {
    console.error(`Unknown target "${name}"; choose from ${Object.keys(targets).join(", ")}`);
    Deno.exit(2);
  }
  const output = `dist/shmooze-${name}${name.startsWith("windows") ? ".exe" : ""}`;
  console.log(`Compiling ${output} (${target})`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["compile", ...flags, "--target", target, "--output", output, "main.ts"],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (code !== 0) {
    console.error(`deno compile failed for ${name} (exit ${code})`);
    Deno.exit(code);
  }
}
