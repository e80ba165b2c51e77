/**
 * Where and when a benchmark ran: recorded with every result, so a number is never quoted
 * without its machine and its load.
 *
 * @module
 */

/** The machine, runtime and load a benchmark ran on. */
export interface BenchEnvironment {
  /** When the run ended (ISO 8601). */
  date: string;
  /** Deno's version. */
  deno: string;
  /** `linux`, `darwin`, `windows`. */
  os: string;
  /** `x86_64`, `aarch64`. */
  arch: string;
  /** Logical CPUs. */
  cpus: number;
  /** The CPU's model name from /proc/cpuinfo (Deno lets only --allow-all read /proc), else "". */
  cpuModel: string;
  /** 1, 5 and 15-minute load averages. */
  loadAverage: number[];
}

/**
 * Reads the environment now (call it at the end of a run, so the load covers the run).
 *
 * @returns The environment.
 *
 * @example
 * ```ts
 * import { benchEnvironment, describeEnvironment } from "./_env.ts";
 * console.log(describeEnvironment(benchEnvironment()));
 * ```
 */
export function benchEnvironment(): BenchEnvironment {
  return {
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency,
    cpuModel: cpuModel(),
    loadAverage: Deno.loadavg(),
  };
}

/**
 * One line for a report's footer.
 *
 * @param env The environment.
 * @returns e.g. `linux/x86_64, 2 CPUs (AMD EPYC), load 0.69 1.72 2.61 at the end, Deno 2.9.6, 2026-…`
 */
export function describeEnvironment(env: BenchEnvironment): string {
  const model = env.cpuModel === "" ? "" : ` (${env.cpuModel})`;
  return `${env.os}/${env.arch}, ${env.cpus} CPUs${model}, load ${
    env.loadAverage.map((l) => l.toFixed(2)).join(" ")
  } at the end, Deno ${env.deno}, ${env.date}`;
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.*)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "";
  } catch {
    return "";
  }
}
