// Runs a trace against the model, line by line, exactly as the real-kernel runner runs it on a
// kernel: bound names, the argument struct filled from the request table, one result line per
// call. Exit status: 0 all ran, 2 a line it cannot understand, 3 a line that would block.

import { VfioSystem, WOULD_BLOCK, type SystemOptions } from "../system.js";
import type { VfioHost } from "../host.js";
import { ArgKind, CONSTANTS, Dir, Kind, REQUEST_BY_NAME, RetKind, errnoName, EBADF, type FieldDesc } from "../uapi.js";
import { bad, exceeds, hex64, isIdent, parseBdf, parseFlags, parseNumber, tokenize, TraceSyntaxError, u64Add, type U64 } from "./parse.js";
import { formatFlags } from "../uapi.js";

const S_FILE = 0, S_MEM = 1, S_VALUE = 2;

interface Sym {
  kind: number;
  fd: number;
  value: U64;
  line: number;
}

export interface ReplayResult {
  /** One line per call, without newline. */
  lines: string[];
  exitCode: number;
  /** The message for exit status 2 or 3 (what the runner prints on stderr). */
  error?: string;
  /** The model, after the run (tests inspect it). */
  system: VfioSystem;
}

export interface ReplayOptions extends SystemOptions {
  /** Name used in messages (the trace file). */
  traceName?: string;
  /** Called with each result line as it is produced (streaming output). */
  onLine?: (line: string) => void;
}

export class Replayer {
  readonly sys: VfioSystem;
  private readonly syms = new Map<string, Sym>();
  private curLine = 0;
  readonly out: string[] = [];
  private readonly onLine: ((line: string) => void) | undefined;

  constructor(host: VfioHost, opts: ReplayOptions = {}) {
    this.sys = new VfioSystem(host, opts);
    this.onLine = opts.onLine;
  }

  private emit(s: string): void {
    if (this.onLine) this.onLine(s);
    else this.out.push(s);
  }
  private done(): void {
    this.emit(this.curLine + " ok 0");
  }
  private fail(e: number): void {
    this.emit(this.curLine + " err " + errnoName(e));
  }
  /** ret ≥ 0 → ok 0, else err. */
  private result(r: number): void {
    if (r < 0) this.fail(-r);
    else this.done();
  }

  private bindName(name: string, kind: number): Sym {
    let s = this.syms.get(name);
    if (s && !(s.kind === S_FILE && s.fd >= 0)) {
      s.kind = kind;
      s.fd = -1;
      s.value = 0;
      s.line = this.curLine;
      return s;
    }
    // a file it named stays open, nameless
    s = { kind, fd: -1, value: 0, line: this.curLine };
    this.syms.set(name, s);
    return s;
  }

  private parseFile(what: string, s: string): Sym {
    if (!isIdent(s)) bad(`${what}: expected the bound name of a file, got '${s}'`);
    const y = this.syms.get(s);
    if (!y) bad(`${what}: '${s}' is not bound by an earlier line`);
    if (y.kind !== S_FILE) bad(`${what}: '${s}' is not a file`);
    return y;
  }

  private parseValue(field: string, s: string): U64 {
    const n = parseNumber(s);
    if (n !== null) return n;
    const c = CONSTANTS.get(s);
    if (c !== undefined) return c;
    const plus = s.indexOf("+");
    const name = plus >= 0 ? s.slice(0, plus) : s;
    if (name.length >= 64) bad(`${field}: name too long: '${s}'`);
    let off: U64 = 0;
    if (plus >= 0) {
      const o = parseNumber(s.slice(plus + 1));
      if (o === null) bad(`${field}: bad offset in '${s}'`);
      off = o;
    }
    if (!isIdent(name)) bad(`${field}: not a number, constant or name: '${s}'`);
    const y = this.syms.get(name);
    if (!y) bad(`${field}: '${name}' is not bound by an earlier line`);
    if (y.kind === S_FILE) bad(`${field}: '${name}' is a file, not a value`);
    return u64Add(y.value, off);
  }

  /** Runs one line (1-based number). Throws TraceSyntaxError for exit 2; returns 3 for a blocking line. */
  runLine(text: string, lineNo: number): number {
    this.curLine = lineNo;
    const tok = tokenize(text);
    if (tok.length === 0) return 0;
    let bind: string | null = null;
    let t = tok;
    if (t.length >= 2 && t[1] === "=") {
      if (!isIdent(t[0]!) || t[0]!.length >= 64) bad(`not a name: '${t[0]}'`);
      bind = t[0]!;
      t = t.slice(2);
      if (t.length === 0) bad("nothing after '='");
    }
    const verb = t[0]!;
    const na = t.length - 1;
    switch (verb) {
      case "ioctl":
        this.doIoctl(bind, t);
        return 0;
      case "open": {
        if (!bind) bad("open needs a name: NAME = open PATH");
        if (na === 2 && t[1] === "/dev/vfio/group-of") {
          const bdf = parseBdf(t[2]!);
          const y = this.bindName(bind, S_FILE);
          const r = this.sys.openGroupOf(bdf);
          if (r >= 0) y.fd = r;
          this.result(r);
        } else if (na === 2 && t[1] === "/dev/vfio/devices/vfio-of") {
          // extension: the device's cdev (VFIO_DEVICE_CDEV, 6.6+ kernels with iommufd)
          const bdf = parseBdf(t[2]!);
          const y = this.bindName(bind, S_FILE);
          const r = this.sys.openCdevOf(bdf);
          if (r >= 0) y.fd = r;
          this.result(r);
        } else if (na === 1 && t[1]!.startsWith("/")) {
          const y = this.bindName(bind, S_FILE);
          const r = this.sys.open(t[1]!);
          if (r >= 0) y.fd = r;
          this.result(r);
        } else bad("open takes a path, /dev/vfio/group-of BDF or /dev/vfio/devices/vfio-of BDF");
        return 0;
      }
      case "mem": {
        const bytes = na === 1 ? parseNumber(t[1]!) : null;
        if (!bind || bytes === null) bad("expected NAME = mem BYTES");
        const y = this.bindName(bind, S_MEM);
        const r = typeof bytes === "bigint" ? -12 : this.sys.mmap(bytes);
        if (r < 0) this.fail(-r);
        else {
          y.value = r;
          this.done();
        }
        return 0;
      }
      default:
        break;
    }
    if (bind) bad(`'${verb}' gives nothing to bind a name to`);
    switch (verb) {
      case "close": {
        if (na !== 1) bad("expected close NAME");
        const y = this.parseFile("close", t[1]!);
        const fd = y.fd;
        y.fd = -1;
        this.result(fd < 0 ? -EBADF : this.sys.close(fd));
        return 0;
      }
      case "setrlimit": {
        const bytes = na === 2 && t[1] === "memlock" ? parseNumber(t[2]!) : null;
        if (bytes === null) bad("expected setrlimit memlock BYTES");
        this.result(this.sys.setMemlock(Number(bytes)));
        return 0;
      }
      case "bind": {
        if (na !== 2) bad("expected bind BDF DRIVER");
        const bdf = parseBdf(t[1]!);
        if (!/^[A-Za-z0-9_-]+$/.test(t[2]!)) bad(`not a driver name: '${t[2]}'`);
        const r = this.sys.bind(bdf, t[2]!);
        if (r === WOULD_BLOCK) return this.blocking(bdf);
        this.result(r);
        return 0;
      }
      case "unbind": {
        if (na !== 1) bad("expected unbind BDF");
        const bdf = parseBdf(t[1]!);
        const r = this.sys.unbind(bdf);
        if (r === WOULD_BLOCK) return this.blocking(bdf);
        this.result(r);
        return 0;
      }
      default:
        bad(`unknown call '${verb}'`);
    }
  }

  blockingMessage = "";
  private blocking(bdf: string): number {
    this.blockingMessage = `${bdf} is bound to vfio-pci and its device file is open: the kernel would wait forever for it to be closed; close it first`;
    return 3;
  }

  private doIoctl(bind: string | null, t: string[]): void {
    if (t.length < 3) bad("ioctl takes FD REQUEST [field=value ...]");
    const file = this.parseFile("ioctl", t[1]!);
    const r = REQUEST_BY_NAME.get(t[2]!);
    if (!r) bad(`unknown request '${t[2]}'`);
    const a = this.sys.arg.reset();
    if (r.size) a.setU32(0, r.size);
    const fields = r.fields;
    for (let i = 3; i < t.length; i++) {
      const tok = t[i]!;
      const eq = tok.indexOf("=");
      if (eq <= 0 || eq === tok.length - 1) bad(`expected field=value, got '${tok}'`);
      const fname = tok.slice(0, eq);
      let fd: FieldDesc | undefined;
      for (const x of fields) if (x.name === fname) fd = x;
      if (!fd) bad(`${r.name} has no field '${fname}'`);
      if (!(fd.dir & Dir.IN)) bad(`${r.name}: field '${fd.name}' is not an input`);
      const val = tok.slice(eq + 1);
      let v: U64;
      switch (fd.kind) {
        case Kind.STR:
          a.str = val;
          continue;
        case Kind.FILE:
          v = this.parseFile(fd.name, val).fd;
          break;
        case Kind.FLAGS:
          v = parseFlags(fd.name, fd.flags, val);
          break;
        default:
          v = this.parseValue(fd.name, val);
          break;
      }
      if (fd.kind !== Kind.FILE && exceeds(v, fd.size)) bad(`${fd.name}: ${val} does not fit in ${fd.size} bytes`);
      if (r.arg === ArgKind.VALUE) {
        a.value = typeof v === "bigint" ? Number(v) : v;
      } else if (fd.size === 8) {
        if (typeof v === "bigint") a.setBig64(fd.off, v);
        else a.setU64(fd.off, v);
      } else if (fd.size === 2) {
        a.setU16(fd.off, Number(v));
      } else {
        a.setU32(fd.off, Number(v) >>> 0 === Number(v) ? Number(v) : Number(BigInt.asUintN(32, BigInt(v))));
        if (fd.kind === Kind.FILE) a.dv.setInt32(fd.off, Number(v), true);
      }
    }
    const ret = file.fd < 0 ? -EBADF : this.sys.ioctl(file.fd, r.nr, a);
    let y: Sym | null = null;
    if (bind) y = this.bindName(bind, r.ret === RetKind.FILE ? S_FILE : S_VALUE);
    if (ret < 0) {
      this.fail(-ret);
      return;
    }
    let line: string;
    if (r.ret === RetKind.FILE) {
      if (y) y.fd = ret;
      else this.sys.close(ret);
      line = this.curLine + " ok 0";
    } else {
      if (y) y.value = ret;
      line = this.curLine + " ok " + ret;
    }
    for (const fd of fields) {
      if (!(fd.dir & Dir.OUT)) continue;
      let s: string;
      if (fd.size === 8) {
        const hi = a.hi(fd.off), lo = a.lo(fd.off);
        s = hex64(hi, lo);
        if (fd.kind === Kind.ID && y) y.value = hi * 0x100000000 + lo;
      } else {
        const w = fd.size === 2 ? a.u16(fd.off) : a.u32(fd.off);
        if (fd.kind === Kind.ID && y) y.value = w;
        s = fd.kind === Kind.FLAGS ? formatFlags(w, fd.flags) : String(w);
      }
      line += " " + fd.name + "=" + s;
    }
    this.emit(line);
  }
}

/** Runs a whole trace text. */
export function runTrace(text: string, host: VfioHost, opts: ReplayOptions = {}): ReplayResult {
  const rp = new Replayer(host, opts);
  const name = opts.traceName ?? "trace";
  const lines = text.split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    try {
      const st = rp.runLine(raw, i + 1);
      if (st === 3) {
        return { lines: rp.out, exitCode: 3, error: `${name}:${i + 1}: ${rp.blockingMessage}\n    ${raw.replace(/\r$/, "")}`, system: rp.sys };
      }
    } catch (e) {
      if (e instanceof TraceSyntaxError) {
        return { lines: rp.out, exitCode: 2, error: `${name}:${i + 1}: ${e.message}\n    ${raw.replace(/\r$/, "")}`, system: rp.sys };
      }
      throw e;
    }
  }
  return { lines: rp.out, exitCode: 0, system: rp.sys };
}
