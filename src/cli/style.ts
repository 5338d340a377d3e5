// Colours for people (picocolors honours NO_COLOR, FORCE_COLOR and non-TTY output) and a small
// table printer.

import pc from "picocolors";

export const style = pc;

/** Visible width of a string without ANSI colour codes. */
export function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, "").length;
}

export function padEnd(s: string, width: number): string {
  const n = visibleLength(s);
  return n >= width ? s : s + " ".repeat(width - n);
}

export function truncate(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, Math.max(0, width - 1)) + "…";
}

/** Renders rows under a header; columns as wide as their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[c] ?? ""))));
  const line = (cells: string[]): string => cells.map((cell, c) => (c === cells.length - 1 ? cell : padEnd(cell, widths[c]!))).join("  ").trimEnd();
  return [style.bold(line(header)), ...rows.map(line)].join("\n");
}

/** Wraps text to width, indenting continuation lines. */
export function wrap(text: string, width: number, indent: string): string {
  const words = text.split(" ");
  const lines: string[] = [];
  let cur = "";
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.map((l, k) => (k === 0 ? l : indent + l)).join("\n");
}
