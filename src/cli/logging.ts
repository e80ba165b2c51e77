/**
 * Logging and colour for the command line: every `shmooze` logger writes to standard error
 * (text for people, JSON lines for machines), and colour is used only on a terminal and
 * never with NO_COLOR set.
 *
 * @module
 */
import {
  configure,
  getTextFormatter,
  jsonLinesFormatter,
  type LogLevel,
  parseLogLevel,
  reset,
} from "@logtape/logtape";
import { styleText } from "node:util";
import { UsageError } from "./_args.ts";

const encoder = new TextEncoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
}

/** How log records are written. */
export type LogFormat = "text" | "json";

/** Options for {@link setupLogging}. */
export interface LoggingOptions {
  /** Lowest level written. @default {"info"} */
  level?: string;
  /** `text` for people, `json` for machines (one object a line). @default {"text"} */
  format?: string;
}

/**
 * Whether to colour output: only on a terminal, and never when NO_COLOR is set.
 *
 * @param stream The stream the text goes to.
 * @returns True when colours are welcome.
 *
 * @example Never on a pipe; on a terminal unless NO_COLOR is set
 * ```ts
 * import assert from "node:assert/strict";
 * import { useColor } from "./logging.ts";
 *
 * assert.equal(useColor({ isTerminal: () => false }), false);
 * assert.equal(useColor({ isTerminal: () => true }), !Deno.env.get("NO_COLOR"));
 * ```
 */
export function useColor(stream: { isTerminal(): boolean } = Deno.stderr): boolean {
  const noColor = Deno.env.get("NO_COLOR");
  return (noColor === undefined || noColor === "") && stream.isTerminal();
}

/**
 * Colours text when {@link useColor} allows it.
 *
 * @param style A node:util style name.
 * @param text The text.
 * @param stream Where it will be written.
 * @returns The text, coloured or not.
 *
 * @example Plain text for a pipe, escape codes for a terminal
 * ```ts
 * import assert from "node:assert/strict";
 * import { paint } from "./logging.ts";
 *
 * assert.equal(paint("red", "error:", { isTerminal: () => false }), "error:");
 * if (!Deno.env.get("NO_COLOR")) {
 *   assert.equal(paint("red", "error:", { isTerminal: () => true }), "\x1b[31merror:\x1b[39m");
 * }
 * ```
 */
export function paint(
  style: Parameters<typeof styleText>[0],
  text: string,
  stream: { isTerminal(): boolean } = Deno.stdout,
): string {
  return useColor(stream) ? styleText(style, text, { validateStream: false }) : text;
}

/**
 * Sends every `shmooze` logger to standard error, at a level and in a format.
 *
 * @param options Level and format.
 * @returns Resolves once the loggers are configured.
 * @throws {UsageError} For an unknown level or format; the logging set up before is kept.
 *
 * @example A level or format that does not exist is a usage mistake
 * ```ts
 * import assert from "node:assert/strict";
 * import { setupLogging } from "./logging.ts";
 *
 * await assert.rejects(setupLogging({ level: "loud" }), {
 *   name: "UsageError",
 *   message: '--log-level must be one of trace, debug, info, warning, error, fatal, not "loud"',
 * });
 * await assert.rejects(setupLogging({ format: "xml" }), {
 *   name: "UsageError",
 *   message: '--log-format must be text or json, not "xml"',
 * });
 * ```
 */
export async function setupLogging(options: LoggingOptions = {}): Promise<void> {
  let level: LogLevel;
  try {
    level = parseLogLevel(options.level ?? "info");
  } catch {
    throw new UsageError(
      `--log-level must be one of trace, debug, info, warning, error, fatal, not "${options.level}"`,
    );
  }
  const format = options.format ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`--log-format must be text or json, not "${format}"`);
  }
  const color = useColor(Deno.stderr);
  const formatter = format === "json" ? jsonLinesFormatter : getTextFormatter({
    timestamp: "time",
    level: "FULL",
    format: ({ timestamp, level, category, message }) => {
      const line = `${timestamp} ${level.padEnd(7)} ${category}: ${message}`;
      return color ? styleText(level === "ERROR" ? "red" : "dim", line) : line;
    },
  });
  await reset();
  await configure({
    reset: true,
    sinks: {
      // Written synchronously so a record is never lost when the process exits right after.
      stderr: (record) => writeAll(Deno.stderr, encoder.encode(formatter(record))),
    },
    loggers: [
      { category: ["shmooze"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}
