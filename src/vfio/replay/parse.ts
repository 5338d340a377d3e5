// Trace-line parsing as the real-kernel runner does it (shared/contracts/replay.md,
// shared/oracle/replay/vfio-replay.c): tokens, names, numbers (u64), BDFs, flags.

import type { FlagNames } from "../uapi.js";

/** A u64 value: a JS number when exact (< 2^53), else a bigint. */
export type U64 = number | bigint;

/** A line the runner cannot understand: exit status 2. */
export class TraceSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TraceSyntaxError";
  }
}

export function bad(msg: string): never {
  throw new TraceSyntaxError(msg);
}

/** Splits a line into tokens after removing a `#` comment. */
export function tokenize(text: string): string[] {
  const hash = text.indexOf("#");
  const s = hash >= 0 ? text.slice(0, hash) : text;
  // fast path: single spaces only (the usual trace line)
  if (s.indexOf("\t") < 0 && s.indexOf("\r") < 0 && s.indexOf("  ") < 0) {
    const parts = s.split(" ");
    if (parts.length && parts[0] === "") parts.shift();
    if (parts.length && parts[parts.length - 1] === "") parts.pop();
    return parts;
  }
  const out: string[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    let c = s.charCodeAt(i);
    while (i < n && (c === 32 || c === 9 || c === 13 || c === 10)) c = s.charCodeAt(++i);
    if (i >= n) break;
    const start = i;
    while (i < n && c !== 32 && c !== 9 && c !== 13 && c !== 10) c = s.charCodeAt(++i);
    out.push(s.slice(start, i));
  }
  return out;
}

export function isIdent(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  let c = s.charCodeAt(0);
  if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95)) return false;
  for (let i = 1; i < n; i++) {
    c = s.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || (c >= 48 && c <= 57))) return false;
  }
  return true;
}

const U64_MAX = 0xffffffffffffffffn;

/** Decimal or 0x hexadecimal, the whole string, no sign; null when not a number or > u64. */
export function parseNumber(s: string): U64 | null {
  let base = 10, i = 0;
  const n = s.length;
  if (n >= 2 && s.charCodeAt(0) === 48 && (s.charCodeAt(1) === 120 || s.charCodeAt(1) === 88)) {
    base = 16;
    i = 2;
  }
  if (i >= n) return null;
  let v = 0;
  const start = i;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (base === 16 && c >= 97 && c <= 102) d = c - 87;
    else if (base === 16 && c >= 65 && c <= 70) d = c - 55;
    else return null;
    v = v * base + d;
  }
  if (v <= Number.MAX_SAFE_INTEGER) return v;
  const big = BigInt(base === 16 ? "0x" + s.slice(start) : s.slice(start));
  if (big > U64_MAX) return null;
  return big;
}

export function u64Add(a: U64, b: U64): U64 {
  if (typeof a === "number" && typeof b === "number") {
    const s = a + b;
    if (s <= Number.MAX_SAFE_INTEGER) return s;
  }
  const s = BigInt.asUintN(64, BigInt(a) + BigInt(b));
  return s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}

/** Above 32 bits? (for "does not fit in 4 bytes"). */
export function exceeds(v: U64, bytes: number): boolean {
  if (bytes >= 8) return false;
  const lim = 2 ** (8 * bytes);
  return typeof v === "number" ? v >= lim : v >= BigInt(lim);
}

const BDF12 = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-9a-fA-F]$/;
const BDF7 = /^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-9a-fA-F]$/;

/** "dddd:bb:dd.f" or "bb:dd.f" into canonical lower-case "dddd:bb:dd.f". */
export function parseBdf(s: string): string {
  let full: string;
  if (s.length === 12 && BDF12.test(s)) full = s.toLowerCase();
  else if (s.length === 7 && BDF7.test(s)) full = "0000:" + s.toLowerCase();
  else bad(`not a PCI address (dddd:bb:dd.f): '${s}'`);
  const slot = parseInt(full.slice(8, 10), 16);
  const fn = parseInt(full.slice(11), 16);
  if (slot > 0x1f || fn > 7) bad(`not a PCI address (dddd:bb:dd.f): '${s}'`);
  return full;
}

export function parseFlags(fieldName: string, names: FlagNames | undefined, s: string): U64 {
  if (s.length === 0) bad(`${fieldName}: empty flags`);
  let v = 0n;
  let small = 0;
  let useBig = false;
  for (const p of s.split("|")) {
    if (p.length === 0) continue;
    const n = parseNumber(p);
    if (n !== null) {
      if (typeof n === "bigint" || n > 0xffffffff) {
        useBig = true;
        v |= BigInt(n);
      } else small = (small | n) >>> 0;
      continue;
    }
    let bit = -1;
    if (names) for (const [b, name] of names) if (name === p) bit = b;
    if (bit < 0) bad(`${fieldName}: unknown flag '${p}'`);
    small = (small | bit) >>> 0;
  }
  if (useBig) {
    const r = v | BigInt(small);
    return r <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r) : r;
  }
  return small;
}

/** Lower-case hex with 0x of a u64 read as two halves. */
export function hex64(hi: number, lo: number): string {
  if (hi === 0) return "0x" + lo.toString(16);
  return "0x" + hi.toString(16) + lo.toString(16).padStart(8, "0");
}
