// Kernel release numbers: "6.1", "6.12.80", "6.11.6-300.fc41.x86_64", "5.15.74-1-pve", "7.0".

export interface KernelVersion {
  major: number;
  minor: number;
  /** Stable patch level; null when only major.minor was given (read as the series' latest stable). */
  patch: number | null;
  /** -rcN of a mainline release candidate, else null. */
  rc: number | null;
  text: string;
}

export const NEWEST_KERNEL = "7.0";

export function parseKernelVersion(text: string): KernelVersion | null {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-rc(\d+))?(?:[-+.~_].*)?$/.exec(text.trim());
  if (!m) return null;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: m[3] === undefined ? null : Number(m[3]),
    rc: m[4] === undefined ? null : Number(m[4]),
    text: text.trim(),
  };
}

/** True when the kernel's series is at least major.minor (a quirk merged in that release). */
export function kernelAtLeast(v: KernelVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** True when v lies in [from, to] of one stable series (inclusive); a bare series counts as its latest. */
export function inStableRange(v: KernelVersion, major: number, minor: number, fromPatch: number, toPatch: number): boolean {
  if (v.major !== major || v.minor !== minor || v.patch === null || v.rc !== null) return false;
  return v.patch >= fromPatch && v.patch <= toPatch;
}
