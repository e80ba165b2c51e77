/**
 * The import graph points one way (design.md): ffi/ → src/ipc → src/chat → src/net →
 * transports → src/cli → main.ts, and the shipped program imports no tooling.
 */
import assert from "node:assert/strict";
import { ROOT } from "./_helpers.ts";

/** Each folder's place in the layers: a module may import only from lower ranks (or its own). */
const RANKS: Record<string, number> = {
  "ffi": 0,
  "src/ipc": 1,
  "src/chat": 2,
  // The cluster's bus and replicated hub: above the chat core, beside the network helpers.
  "src/cluster": 3,
  "src/net": 3,
  "src/irc": 4,
  "src/bridge": 5,
  "src/web": 6,
  "src/client": 6,
  "src/server": 7,
  "src/cli": 8,
};

interface ModuleGraph {
  modules: {
    specifier: string;
    dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
  }[];
}

async function graph(entry: string): Promise<ModuleGraph> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** The repository-relative path of a local module, or undefined for npm and built-ins. */
function local(specifier: string): string | undefined {
  const root = new URL(".", `file://${ROOT}`).href;
  return specifier.startsWith(root) ? specifier.slice(root.length) : undefined;
}

function folder(path: string): string {
  const parts = path.split("/");
  return parts[0] === "src" ? parts.slice(0, 2).join("/") : parts[0];
}

Deno.test("main.ts, the shipped program, imports nothing under bench/ or tests/", async () => {
  const tooling = (await graph("main.ts")).modules.map((m) => local(m.specifier))
    .filter((path) => path !== undefined && /^(bench|tests)\//.test(path));
  assert.deepEqual(tooling, []);
});

/** The programs: the CLI, the library, and the browser's, which the server embeds bundled. */
const ENTRIES = ["main.ts", "mod.ts", "src/web/client/chat.ts", "src/web/client/monitor.ts"];

Deno.test("every import in src/ and ffi/ points down the layers", async () => {
  const wrong: string[] = [];
  for (const entry of ENTRIES) {
    for (const module of (await graph(entry)).modules) {
      const from = local(module.specifier);
      if (from === undefined || !/^(src|ffi)\//.test(from)) continue;
      const fromRank = RANKS[folder(from)];
      assert.ok(fromRank !== undefined, `${folder(from)} has no place in RANKS`);
      for (const dependency of module.dependencies ?? []) {
        // Type-only imports count too: they tie the layers together just as much.
        const specifier = dependency.code?.specifier ?? dependency.type?.specifier;
        const to = specifier && local(specifier);
        if (to === undefined || !/^(src|ffi)\//.test(to) || folder(to) === folder(from)) continue;
        const toRank = RANKS[folder(to)];
        if (toRank === undefined || toRank >= fromRank) wrong.push(`${from} imports ${to}`);
      }
    }
  }
  assert.deepEqual([...new Set(wrong)], []);
});

Deno.test("deno task doc lints exactly the modules deno.json exports", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const exported = Object.values(config.exports as Record<string, string>)
    .map((path) => path.replace(/^\.\//, "")).sort();
  const linted = (config.tasks.doc.command as string).split(" ").slice(3).sort();
  assert.deepEqual(linted, exported);
  for (const path of exported) assert.ok((await Deno.stat(`${ROOT}${path}`)).isFile, path);
});
