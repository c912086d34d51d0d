// Plain-text tables for CLI output: columns padded to their widest cell.

export interface TableOptions {
  /** Spaces before every line. */
  indent?: number;
  /** Indices of columns to right-align (numbers). */
  alignRight?: readonly number[];
}

export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const right = new Set(options.alignRight ?? []);
  const indent = " ".repeat(options.indent ?? 0);
  const line = (cells: readonly string[]): string =>
    indent + cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
