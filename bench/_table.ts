/**
 * Markdown tables for benchmark reports, readable in a terminal and in docs/benchmarks.md.
 *
 * @module
 */

/**
 * Formats rows as a markdown table with padded columns; text columns come first and are
 * left-aligned, the rest (numbers) right-aligned.
 *
 * @param header Column titles.
 * @param rows Cells, one array per row, as many as `header`.
 * @param leftColumns How many leading columns are left-aligned.
 * @returns The table, one line per row.
 *
 * @example
 * ```ts
 * import { markdownTable } from "./_table.ts";
 * console.log(markdownTable(["server", "msg/s"], [["shmooze", "1,000"]], 1));
 * // | server  | msg/s |
 * // | ------- | ----: |
 * // | shmooze | 1,000 |
 * ```
 */
export function markdownTable(header: string[], rows: string[][], leftColumns: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) => i < leftColumns ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ")
    } |`;
  const rule = `| ${
    widths.map((w, i) => i < leftColumns ? "-".repeat(w) : `${"-".repeat(w - 1)}:`).join(" | ")
  } |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
