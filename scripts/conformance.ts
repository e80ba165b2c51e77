/**
 * Measures IRC conformance with irctest, the server test suite Ergo, InspIRCd, UnrealIRCd and
 * Solanum run in CI, against shmooze and, for comparison, Debian's ngircd and InspIRCd.
 *
 *   deno task conformance                    shmooze: the general selection, then services
 *   deno task conformance ngircd inspircd    the named servers (or `all`)
 *   deno task conformance shmooze --keyword sasl --jobs 4
 *
 * irctest is run as an outside suite: its files are extracted from a git snapshot into a
 * temporary directory and removed afterwards; shmooze keeps only its controller
 * (tests/irctest/shmooze.py). Each run writes `<run>.xml` (JUnit), `<run>.log` (pytest's
 * output) and `<run>.md` (counts and every failure with its reason) under
 * tests/artifacts/conformance/. Exit code 0 when every run completed (failed tests included),
 * 1 when pytest or the extraction could not run, 2 for a mistake on the command line.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** A test's outcome as pytest's JUnit XML records it. */
export type Outcome = "passed" | "failed" | "error" | "skipped" | "xfailed";

/** One test case of a JUnit report. */
export interface TestResult {
  /** The pytest node id, `irctest/server_tests/sasl.py::SaslTestCase::testPlain`. */
  id: string;
  /** What happened. */
  outcome: Outcome;
  /** The first line of pytest's message for a failure, error or skip; "" for a pass. */
  reason: string;
}

/** The counts of one run, and its results. */
export interface Summary {
  /** Every test case in report order. */
  results: TestResult[];
  /** How many test cases had each outcome. */
  counts: Record<Outcome, number>;
}

const REPO = fileURLToPath(new URL("..", import.meta.url));
const CONTROLLER_DIR = join(REPO, "tests", "irctest");
const DEFAULT_IRCTEST = "/work/.mirror/progval+irctest/repo";
const DEFAULT_OUT = join(REPO, "tests", "artifacts", "conformance");
/** The irctest Makefile's selection for ngircd and InspIRCd (Ergo adds its own tests). */
const GENERAL = "not services and not implementation-specific and not deprecated and not strict";
const SERVICES = "services and not implementation-specific and not deprecated and not strict";
const REASON_LENGTH = 240;
/** The environment variable that marks every process of one pytest run. */
const MARKER = "SHMOOZE_CONFORMANCE_RUN";
/** How long leftover servers get to stop after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5000;

interface Run {
  name: string;
  controller: string;
  markers: string;
  version: string[];
  /** A shell script put first on PATH under the name `command`, in place of the server. */
  wrapper?: { command: string; script: string };
}

/**
 * Debian's InspIRCd 3 as irctest starts it: it refuses to run as root without --runasroot,
 * and irctest's configuration includes examples/helpop.conf.example from the configuration
 * directory (/etc/inspircd), where Debian ships no examples (they are under /usr/share/doc).
 * The configuration also logs to /tmp/ircd-PORT.log, which nothing removes: the wrapper moves
 * the log next to the configuration, into the run's temporary directory. It takes itself off
 * PATH before it runs the real inspircd.
 */
const INSPIRCD_WRAPPER = `#!/bin/sh
prev=
for arg in "$@"; do
  if [ "$prev" = --config ]; then
    dir=$(dirname "$arg")
    sed -i "s|target=\\"/tmp/ircd-|target=\\"$dir/ircd-|" "$arg"
    if [ -d /usr/share/doc/inspircd/examples ]; then
      sed -i 's|"examples/|"/usr/share/doc/inspircd/examples/|g' "$arg"
    fi
  fi
  prev=$arg
done
if [ "$(id -u)" = 0 ]; then set -- --runasroot "$@"; fi
PATH=\${PATH#*:}
export PATH
exec inspircd "$@"
`;

const RUNS: Record<string, Run[]> = {
  shmooze: [
    { name: "shmooze", controller: "shmooze", markers: GENERAL, version: [] },
    { name: "shmooze-services", controller: "shmooze", markers: SERVICES, version: [] },
  ],
  ngircd: [{
    name: "ngircd",
    controller: "irctest.controllers.ngircd",
    markers: GENERAL,
    version: ["ngircd", "--version"],
  }],
  inspircd: [{
    name: "inspircd",
    controller: "irctest.controllers.inspircd",
    markers: GENERAL,
    version: ["inspircd", "--version"],
    wrapper: { command: "inspircd", script: INSPIRCD_WRAPPER },
  }],
};

const USAGE = `Usage: deno task conformance [shmooze|ngircd|inspircd|all]... [options]

Runs irctest against each named server (default: shmooze) with the selection the irctest
Makefile uses for ngircd and InspIRCd:
  -m '${GENERAL}'
and, for shmooze, a second run of the services tests (REGISTER and SASL are built in).

Options:
  --keyword EXPR   Only tests matching the pytest -k expression EXPR
  --jobs N         Run N tests at once with pytest-xdist (default: 1)
  --out DIR        Where results go (default: tests/artifacts/conformance)
  -h, --help       Show this help

Environment:
  IRCTEST_DIR      irctest: a git directory whose HEAD is extracted, or a checkout
                   (default: ${DEFAULT_IRCTEST})
  PYTHON           The Python with pytest (default: python3)

Results: <out>/<run>.xml (JUnit), <run>.log (pytest output), <run>.md (counts, failures).`;

/**
 * Decodes the XML entities pytest writes in attribute values.
 *
 * @param text Escaped text.
 * @returns The text.
 */
function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_, entity: string) => {
    switch (entity) {
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "amp":
        return "&";
      case "quot":
        return '"';
      case "apos":
        return "'";
    }
    const code = entity[1] === "x" ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1));
    return String.fromCodePoint(code);
  });
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return match === null ? undefined : unescapeXml(match[1]);
}

/**
 * Reads pytest's JUnit XML: each test case's pytest node id, outcome and reason.
 *
 * @param xml The report, as `pytest --junitxml` writes it.
 * @returns Every test case and the count of each outcome.
 *
 * @example A pass, a failure and an expected failure
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeJunit } from "./conformance.ts";
 *
 * const summary = summarizeJunit(`<testsuite>
 * <testcase classname="irctest.server_tests.ping.PingTestCase" name="testPing" time="1"/>
 * <testcase classname="irctest.server_tests.chmodes.ban.BanTestCase" name="testBan" time="1">
 * <failure message="AssertionError: expected 474&#10;more">trace</failure></testcase>
 * <testcase classname="irctest.server_tests.cap.CapTestCase" name="testAck" time="1">
 * <skipped type="pytest.xfail" message="known" /></testcase>
 * </testsuite>`);
 * assert.deepEqual(summary.counts, { passed: 1, failed: 1, error: 0, skipped: 0, xfailed: 1 });
 * assert.deepEqual(summary.results[1], {
 *   id: "irctest/server_tests/chmodes/ban.py::BanTestCase::testBan",
 *   outcome: "failed",
 *   reason: "AssertionError: expected 474",
 * });
 * ```
 */
export function summarizeJunit(xml: string): Summary {
  const results: TestResult[] = [];
  const counts: Record<Outcome, number> = {
    passed: 0,
    failed: 0,
    error: 0,
    skipped: 0,
    xfailed: 0,
  };
  const testcase = /<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const [, tag, body = ""] of xml.matchAll(testcase)) {
    const classname = attribute(tag, "classname") ?? "";
    const cut = classname.lastIndexOf(".");
    const id = `${classname.slice(0, cut).replaceAll(".", "/")}.py::${classname.slice(cut + 1)}::${
      attribute(tag, "name") ?? ""
    }`;
    // A failing teardown adds an <error> after a <failure>: the first child decides.
    const child = /<(failure|error|skipped)\b([^>]*)/.exec(body);
    let outcome: Outcome = "passed";
    if (child !== null) {
      const kind = child[1];
      outcome = kind === "failure"
        ? "failed"
        : kind === "error"
        ? "error"
        : attribute(child[2], "type") === "pytest.xfail"
        ? "xfailed"
        : "skipped";
    }
    const message = child === null ? "" : attribute(child[2], "message") ?? "";
    const reason = message.split("\n")[0].trim().slice(0, REASON_LENGTH);
    results.push({ id, outcome, reason });
    counts[outcome]++;
  }
  return { results, counts };
}

/**
 * Finds pytest's closing tally (`86 failed, 221 passed, 158 skipped … in 114.10s`) in its
 * output: unlike the JUnit report it tells expected passes (xpassed) from passes.
 *
 * @param log pytest's output.
 * @returns The tally without the `=` rule around it, or undefined if pytest did not finish.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pytestTally } from "./conformance.ts";
 *
 * const log = "FAILED a.py::T::t\n====== 1 failed, 2 passed, 1 xpassed in 3.10s ======\n";
 * assert.equal(pytestTally(log), "1 failed, 2 passed, 1 xpassed in 3.10s");
 * ```
 */
export function pytestTally(log: string): string | undefined {
  const lines = log.trimEnd().split("\n").reverse();
  const line = lines.find((l) => /\b(passed|failed|skipped|deselected)\b.* in [0-9.]+s/.test(l));
  return line?.replace(/^=+ | =+$/g, "").trim();
}

/**
 * Writes a run's summary as Markdown: the title, details, the counts, then each failure and
 * error by test id with its reason.
 *
 * @param title The run.
 * @param summary The parsed report.
 * @param details Lines that say how the run was made. @default {[]}
 * @returns The Markdown text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSummary, summarizeJunit } from "./conformance.ts";
 *
 * const summary = summarizeJunit(`<testcase classname="irctest.server_tests.a.ATestCase"
 *   name="testA"><failure message="boom"/></testcase>`);
 * const text = formatSummary("shmooze", summary);
 * assert.ok(text.includes("| `irctest/server_tests/a.py::ATestCase::testA` | boom |"));
 * ```
 */
export function formatSummary(title: string, summary: Summary, details: string[] = []): string {
  const { counts } = summary;
  const lines = [
    `# ${title}`,
    "",
    ...details.map((detail) => `- ${detail}`),
    `- JUnit: passed ${counts.passed} (xpassed included), failed ${counts.failed}, ` +
    `errors ${counts.error}, skipped ${counts.skipped}, xfailed ${counts.xfailed}`,
    "",
    "| test | reason |",
    "| --- | --- |",
  ];
  for (const result of summary.results) {
    if (result.outcome !== "failed" && result.outcome !== "error") continue;
    const reason = result.reason.replaceAll("|", "\\|");
    lines.push(`| \`${result.id}\` | ${result.outcome === "error" ? "(error) " : ""}${reason} |`);
  }
  return lines.join("\n") + "\n";
}

async function output(command: string[], cwd?: string): Promise<string> {
  try {
    const { code, stdout, stderr } = await new Deno.Command(command[0], {
      args: command.slice(1),
      cwd,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout).trim() || new TextDecoder().decode(stderr);
    return code === 0 ? text.split("\n")[0].trim() : "unknown";
  } catch {
    return "not installed";
  }
}

/** Gets irctest's files: a checkout is used as it is, a git directory's HEAD is extracted. */
async function prepareIrctest(source: string, work: string): Promise<string> {
  try {
    Deno.statSync(join(source, "conftest.py"));
    return source;
  } catch {
    // not a checkout: try it as a git directory below
  }
  const dir = join(work, "irctest");
  Deno.mkdirSync(dir);
  const archive = new Deno.Command("sh", {
    args: ["-c", 'git --git-dir "$1" archive HEAD | tar -x -C "$2"', "sh", source, dir],
    stderr: "piped",
  });
  const { code, stderr } = await archive.output();
  if (code !== 0) {
    const why = new TextDecoder().decode(stderr).trim().split("\n")[0];
    throw new Error(
      `Cannot extract irctest from "${source}": it is neither a checkout with conftest.py nor a git directory (${why})`,
    );
  }
  return dir;
}

function alive(pid: number): boolean {
  try {
    // the state follows the parenthesised command name; a zombie (Z) has already exited
    return !/\) Z /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

/**
 * Stops the processes a run left behind, found by the marker in their environment: irctest
 * skips some tests from setUp after starting the server (bot_mode.py without BOT), and
 * unittest then never calls the tearDown that would stop it.
 */
async function stopLeftovers(marker: string): Promise<number> {
  if (Deno.build.os !== "linux") return 0;
  const needle = `${MARKER}=${marker}`;
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const environ = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
      if (environ.split("\0").includes(needle)) pids.push(Number(entry.name));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  const signal = (sig: Deno.Signal) => {
    for (const pid of pids.filter(alive)) {
      try {
        Deno.kill(pid, sig);
      } catch {
        // exited meanwhile
      }
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  while (pids.some(alive) && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 100));
  }
  signal("SIGKILL");
  return pids.length;
}

async function runPytest(
  run: Run,
  options: {
    irctest: string;
    python: string;
    out: string;
    tmp: string;
    marker: string;
    keyword?: string;
    jobs: number;
  },
): Promise<{ seconds: number; code: number }> {
  let path = Deno.env.get("PATH") ?? "";
  if (run.wrapper !== undefined) {
    const bin = join(options.tmp, `${run.name}-bin`);
    Deno.mkdirSync(bin, { recursive: true });
    Deno.writeTextFileSync(join(bin, run.wrapper.command), run.wrapper.script, { mode: 0o755 });
    path = `${bin}:${path}`;
  }
  const xml = join(options.out, `${run.name}.xml`);
  const args = [
    "-m",
    "pytest",
    "-p",
    "no:cacheprovider",
    "--controller",
    run.controller,
    "-m",
    run.markers,
    "--junitxml",
    xml,
    "-q",
    "-rfE",
  ];
  if (options.keyword !== undefined) args.push("-k", options.keyword);
  if (options.jobs > 1) args.push("-n", String(options.jobs));
  const log = await Deno.open(join(options.out, `${run.name}.log`), {
    create: true,
    write: true,
    truncate: true,
  });
  const started = performance.now();
  const child = new Deno.Command(options.python, {
    args,
    cwd: options.irctest,
    env: {
      PYTHONPATH: CONTROLLER_DIR,
      PATH: path,
      // no __pycache__ next to the controller in the work tree
      PYTHONDONTWRITEBYTECODE: "1",
      // irctest's servers keep their files in temporary directories: ours, removed at the end
      TMPDIR: options.tmp,
      [MARKER]: options.marker,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = log.writable.getWriter();
  const pipe = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) await writer.write(chunk);
  };
  await Promise.all([pipe(child.stdout), pipe(child.stderr)]);
  const { code } = await child.status;
  await writer.close();
  return { seconds: (performance.now() - started) / 1000, code };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        keyword: { type: "string" },
        jobs: { type: "string", default: "1" },
        out: { type: "string", default: DEFAULT_OUT },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}; see --help`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const jobs = Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) {
    console.error(`--jobs must be a whole number of at least 1, not "${values.jobs}"`);
    return 2;
  }
  const names = positionals.length === 0 ? ["shmooze"] : positionals;
  const runs: Run[] = [];
  for (const name of names) {
    if (name === "all") runs.push(...Object.values(RUNS).flat());
    else if (RUNS[name] !== undefined) runs.push(...RUNS[name]);
    else {
      console.error(`Unknown server "${name}"; choose shmooze, ngircd, inspircd or all`);
      return 2;
    }
  }
  const python = Deno.env.get("PYTHON") ?? "python3";
  if ((await output([python, "-c", "import pytest; print(pytest.__version__)"])) === "unknown") {
    console.error(
      `Cannot run irctest: ${python} has no pytest (install it, or set PYTHON to one that has)`,
    );
    return 1;
  }
  if (jobs > 1 && (await output([python, "-c", "import xdist, filelock"])) === "unknown") {
    console.error(`Cannot run with --jobs ${jobs}: ${python} lacks pytest-xdist or filelock`);
    return 1;
  }
  const source = Deno.env.get("IRCTEST_DIR") ?? DEFAULT_IRCTEST;
  const work = Deno.makeTempDirSync({ prefix: "shmooze-conformance-" });
  try {
    return await measure(runs, {
      source,
      work,
      python,
      jobs,
      keyword: values.keyword,
      out: values.out,
    });
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}

async function measure(
  runs: Run[],
  options: {
    source: string;
    work: string;
    python: string;
    jobs: number;
    keyword?: string;
    out: string;
  },
): Promise<number> {
  const { source, work, python, jobs } = options;
  let irctest;
  try {
    irctest = await prepareIrctest(source, work);
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  const tmp = join(work, "tmp");
  Deno.mkdirSync(tmp);
  const out = resolve(options.out);
  Deno.mkdirSync(out, { recursive: true });
  const commit = await output(["git", "-C", source, "rev-parse", "--short", "HEAD"]);
  const shmoozeCommit = await output(["git", "rev-parse", "--short", "HEAD"], REPO);
  const pytestVersion = await output([python, "-m", "pytest", "--version"]);
  const deno = `deno ${Deno.version.deno}`;
  let status = 0;
  // Ctrl-C reaches pytest too: let it stop and report, then clean up and stop here.
  let interrupted = false;
  const onInterrupt = () => interrupted = true;
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    for (const run of [...new Set(runs)]) {
      if (interrupted) {
        status = 1;
        break;
      }
      const version = run.version.length > 0
        ? await output(run.version)
        : `shmooze ${shmoozeCommit} on ${deno}`;
      console.log(`${run.name}: running irctest (${version})`);
      const marker = crypto.randomUUID();
      const { seconds, code } = await runPytest(run, {
        irctest,
        python,
        out,
        tmp,
        marker,
        keyword: options.keyword,
        jobs,
      });
      const stopped = await stopLeftovers(marker);
      if (stopped > 0) {
        console.log(`${run.name}: stopped ${stopped} process(es) irctest left running`);
      }
      // 0: all passed, 1: some failed, 5: nothing selected (a --keyword that matches only the
      // other run's tests); anything else means pytest itself did not finish.
      if (code === 5) {
        console.log(`${run.name}: no test matches the selection`);
        continue;
      }
      if (code !== 0 && code !== 1) {
        console.error(
          `${run.name}: pytest exited with ${code}; see ${join(out, `${run.name}.log`)}`,
        );
        status = 1;
        continue;
      }
      const summary = summarizeJunit(Deno.readTextFileSync(join(out, `${run.name}.xml`)));
      const tally = pytestTally(Deno.readTextFileSync(join(out, `${run.name}.log`))) ?? "none";
      const selection = `-m '${run.markers}'` +
        (options.keyword === undefined ? "" : ` -k '${options.keyword}'`);
      const markdown = formatSummary(run.name, summary, [
        `server: ${version}`,
        `irctest ${commit}, ${pytestVersion}, ${jobs} job(s), ${seconds.toFixed(0)} s`,
        `selection: \`${selection}\``,
        `pytest: ${tally}`,
      ]);
      Deno.writeTextFileSync(join(out, `${run.name}.md`), markdown);
      console.log(`${run.name}: ${tally} (${join(out, `${run.name}.md`)})`);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  return status;
}

if (import.meta.main) Deno.exit(await main());
