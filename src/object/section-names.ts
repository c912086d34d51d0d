// libbpf's program section names: which program type a SEC("...") means and where it attaches.
//
// Matching follows libbpf's rules: `name` matches exactly; `name+` matches `name` or `name/extras`; `name/`
// requires extras. A leading `?` turns off auto-loading. The table keeps libbpf's order (first match wins).

export enum ProgType {
  Unspec = 0,
  SocketFilter = 1,
  Kprobe = 2,
  SchedCls = 3,
  SchedAct = 4,
  Tracepoint = 5,
  Xdp = 6,
  PerfEvent = 7,
  CgroupSkb = 8,
  CgroupSock = 9,
  LwtIn = 10,
  LwtOut = 11,
  LwtXmit = 12,
  SockOps = 13,
  SkSkb = 14,
  CgroupDevice = 15,
  SkMsg = 16,
  RawTracepoint = 17,
  CgroupSockAddr = 18,
  LwtSeg6local = 19,
  LircMode2 = 20,
  SkReuseport = 21,
  FlowDissector = 22,
  CgroupSysctl = 23,
  RawTracepointWritable = 24,
  CgroupSockopt = 25,
  Tracing = 26,
  StructOps = 27,
  Ext = 28,
  Lsm = 29,
  SkLookup = 30,
  Syscall = 31,
  Netfilter = 32,
}

/** Where a program attaches, parsed from its section name; absent when the name carries no target. */
export type AttachTarget =
  | { kind: "uprobe"; retprobe: boolean; binary: string; func: string; offset: number }
  | { kind: "usdt"; binary: string; provider: string; name: string }
  | { kind: "tracepoint"; category: string; name: string }
  | { kind: "raw_tracepoint"; name: string }
  | { kind: "kprobe"; retprobe: boolean; func: string; offset: number }
  | { kind: "ksyscall"; retprobe: boolean; syscall: string }
  | { kind: "btf"; func: string }; // fentry/fexit/lsm/iter/tp_btf/...: a kernel BTF name

export interface SectionInfo {
  /** The section name as written, without a leading `?`. */
  readonly section: string;
  /** The table pattern that matched, e.g. "uprobe+"; undefined for an unknown name. */
  readonly pattern: string | undefined;
  readonly progType: ProgType;
  /** Short kind for display and dispatch: "uprobe", "uretprobe", "tracepoint", "xdp", ... */
  readonly kind: string;
  readonly sleepable: boolean;
  readonly autoload: boolean;
  /** Whether bpftime-ts can run programs of this kind in userspace (others load, but do not attach). */
  readonly userspace: boolean;
  readonly attach: AttachTarget | undefined;
}

export class SectionNameError extends Error {
  override name = "SectionNameError";
}

type AttachParser = (extras: string, section: string) => AttachTarget | undefined;

interface SectionDef {
  readonly pattern: string;
  readonly progType: ProgType;
  readonly kind: string;
  readonly sleepable?: boolean;
  readonly userspace?: boolean;
  readonly parse?: AttachParser;
}

/** Parses C's %li: decimal, 0x hex or 0-prefixed octal. */
function parseCInteger(text: string, section: string): number {
  const match = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!match) throw new SectionNameError(`section '${section}': invalid offset '${text}'`);
  const digits = match[2]!;
  const value = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits.startsWith("0") ? parseInt(digits, 8) : parseInt(digits, 10);
  return match[1] === "-" ? -value : value;
}

function uprobeParser(retprobe: boolean): AttachParser {
  return (extras, section) => {
    if (extras === "") return undefined; // bare SEC("uprobe"): valid, attached manually
    const colon = extras.indexOf(":");
    if (colon < 0) throw new SectionNameError(`section '${section}': expected <binary>:<function>[+<offset>]`);
    const binary = extras.slice(0, colon);
    let func = extras.slice(colon + 1);
    let offset = 0;
    const plus = func.indexOf("+");
    if (plus >= 0) {
      offset = parseCInteger(func.slice(plus + 1), section);
      func = func.slice(0, plus);
    }
    if (binary === "") throw new SectionNameError(`section '${section}': the binary path is empty`);
    if (retprobe && offset !== 0) throw new SectionNameError(`section '${section}': a uretprobe cannot have an offset`);
    if (func === "" && offset === 0) throw new SectionNameError(`section '${section}': the function name is empty`);
    return { kind: "uprobe", retprobe, binary, func, offset };
  };
}

const usdtParser: AttachParser = (extras, section) => {
  if (extras === "") return undefined;
  const parts = extras.split(":");
  if (parts.length !== 3 || parts.some((p) => p === "")) {
    throw new SectionNameError(`section '${section}': expected usdt/<binary>:<provider>:<name>`);
  }
  return { kind: "usdt", binary: parts[0]!, provider: parts[1]!, name: parts[2]! };
};

const tracepointParser: AttachParser = (extras, section) => {
  if (extras === "") return undefined;
  const slash = extras.indexOf("/");
  if (slash <= 0 || slash === extras.length - 1) {
    throw new SectionNameError(`section '${section}': expected tracepoint/<category>/<name>`);
  }
  return { kind: "tracepoint", category: extras.slice(0, slash), name: extras.slice(slash + 1) };
};

const rawTracepointParser: AttachParser = (extras) => (extras === "" ? undefined : { kind: "raw_tracepoint", name: extras });

function kprobeParser(retprobe: boolean): AttachParser {
  return (extras, section) => {
    if (extras === "") return undefined;
    const plus = extras.indexOf("+");
    const func = plus < 0 ? extras : extras.slice(0, plus);
    const offset = plus < 0 ? 0 : parseCInteger(extras.slice(plus + 1), section);
    return { kind: "kprobe", retprobe, func, offset };
  };
}

const ksyscallParser = (retprobe: boolean): AttachParser => (extras) =>
  extras === "" ? undefined : { kind: "ksyscall", retprobe, syscall: extras };

const btfParser: AttachParser = (extras) => (extras === "" ? undefined : { kind: "btf", func: extras });

const T = ProgType;
const defs: SectionDef[] = [
  { pattern: "socket", progType: T.SocketFilter, kind: "socket", userspace: true },
  { pattern: "sk_reuseport/migrate", progType: T.SkReuseport, kind: "sk_reuseport" },
  { pattern: "sk_reuseport", progType: T.SkReuseport, kind: "sk_reuseport" },
  { pattern: "kprobe+", progType: T.Kprobe, kind: "kprobe", parse: kprobeParser(false) },
  { pattern: "uprobe+", progType: T.Kprobe, kind: "uprobe", userspace: true, parse: uprobeParser(false) },
  { pattern: "uprobe.s+", progType: T.Kprobe, kind: "uprobe", sleepable: true, userspace: true, parse: uprobeParser(false) },
  { pattern: "kretprobe+", progType: T.Kprobe, kind: "kretprobe", parse: kprobeParser(true) },
  { pattern: "uretprobe+", progType: T.Kprobe, kind: "uretprobe", userspace: true, parse: uprobeParser(true) },
  { pattern: "uretprobe.s+", progType: T.Kprobe, kind: "uretprobe", sleepable: true, userspace: true, parse: uprobeParser(true) },
  { pattern: "kprobe.multi+", progType: T.Kprobe, kind: "kprobe.multi" },
  { pattern: "kretprobe.multi+", progType: T.Kprobe, kind: "kretprobe.multi" },
  { pattern: "kprobe.session+", progType: T.Kprobe, kind: "kprobe.session" },
  { pattern: "uprobe.multi+", progType: T.Kprobe, kind: "uprobe.multi" },
  { pattern: "uretprobe.multi+", progType: T.Kprobe, kind: "uretprobe.multi" },
  { pattern: "uprobe.session+", progType: T.Kprobe, kind: "uprobe.session" },
  { pattern: "uprobe.multi.s+", progType: T.Kprobe, kind: "uprobe.multi", sleepable: true },
  { pattern: "uretprobe.multi.s+", progType: T.Kprobe, kind: "uretprobe.multi", sleepable: true },
  { pattern: "uprobe.session.s+", progType: T.Kprobe, kind: "uprobe.session", sleepable: true },
  { pattern: "ksyscall+", progType: T.Kprobe, kind: "ksyscall", parse: ksyscallParser(false) },
  { pattern: "kretsyscall+", progType: T.Kprobe, kind: "kretsyscall", parse: ksyscallParser(true) },
  { pattern: "usdt+", progType: T.Kprobe, kind: "usdt", userspace: true, parse: usdtParser },
  { pattern: "usdt.s+", progType: T.Kprobe, kind: "usdt", sleepable: true, userspace: true, parse: usdtParser },
  { pattern: "tc/ingress", progType: T.SchedCls, kind: "tc" },
  { pattern: "tc/egress", progType: T.SchedCls, kind: "tc" },
  { pattern: "tcx/ingress", progType: T.SchedCls, kind: "tcx" },
  { pattern: "tcx/egress", progType: T.SchedCls, kind: "tcx" },
  { pattern: "tc", progType: T.SchedCls, kind: "tc" },
  { pattern: "classifier", progType: T.SchedCls, kind: "tc" },
  { pattern: "action", progType: T.SchedAct, kind: "action" },
  { pattern: "netkit/primary", progType: T.SchedCls, kind: "netkit" },
  { pattern: "netkit/peer", progType: T.SchedCls, kind: "netkit" },
  { pattern: "tracepoint+", progType: T.Tracepoint, kind: "tracepoint", userspace: true, parse: tracepointParser },
  { pattern: "tp+", progType: T.Tracepoint, kind: "tracepoint", userspace: true, parse: tracepointParser },
  { pattern: "tracepoint.s+", progType: T.Tracepoint, kind: "tracepoint", sleepable: true, userspace: true, parse: tracepointParser },
  { pattern: "tp.s+", progType: T.Tracepoint, kind: "tracepoint", sleepable: true, userspace: true, parse: tracepointParser },
  { pattern: "raw_tracepoint+", progType: T.RawTracepoint, kind: "raw_tracepoint", userspace: true, parse: rawTracepointParser },
  { pattern: "raw_tp+", progType: T.RawTracepoint, kind: "raw_tracepoint", userspace: true, parse: rawTracepointParser },
  { pattern: "raw_tracepoint.s+", progType: T.RawTracepoint, kind: "raw_tracepoint", sleepable: true, userspace: true, parse: rawTracepointParser },
  { pattern: "raw_tp.s+", progType: T.RawTracepoint, kind: "raw_tracepoint", sleepable: true, userspace: true, parse: rawTracepointParser },
  { pattern: "raw_tracepoint.w+", progType: T.RawTracepointWritable, kind: "raw_tracepoint.w", parse: rawTracepointParser },
  { pattern: "raw_tp.w+", progType: T.RawTracepointWritable, kind: "raw_tracepoint.w", parse: rawTracepointParser },
  { pattern: "tp_btf+", progType: T.Tracing, kind: "tp_btf", parse: btfParser },
  { pattern: "tp_btf.s+", progType: T.Tracing, kind: "tp_btf", sleepable: true, parse: btfParser },
  ...["fentry", "fmod_ret", "fexit"].map((k): SectionDef => ({ pattern: `${k}+`, progType: T.Tracing, kind: k, parse: btfParser })),
  ...["fentry", "fmod_ret", "fexit"].map((k): SectionDef => ({ pattern: `${k}.s+`, progType: T.Tracing, kind: k, sleepable: true, parse: btfParser })),
  { pattern: "fsession+", progType: T.Tracing, kind: "fsession", parse: btfParser },
  { pattern: "fsession.s+", progType: T.Tracing, kind: "fsession", sleepable: true, parse: btfParser },
  { pattern: "fsession.multi+", progType: T.Tracing, kind: "fsession.multi" },
  { pattern: "fsession.multi.s+", progType: T.Tracing, kind: "fsession.multi", sleepable: true },
  { pattern: "fentry.multi+", progType: T.Tracing, kind: "fentry.multi" },
  { pattern: "fexit.multi+", progType: T.Tracing, kind: "fexit.multi" },
  { pattern: "fentry.multi.s+", progType: T.Tracing, kind: "fentry.multi", sleepable: true },
  { pattern: "fexit.multi.s+", progType: T.Tracing, kind: "fexit.multi", sleepable: true },
  { pattern: "freplace+", progType: T.Ext, kind: "freplace", parse: btfParser },
  { pattern: "lsm+", progType: T.Lsm, kind: "lsm", parse: btfParser },
  { pattern: "lsm.s+", progType: T.Lsm, kind: "lsm", sleepable: true, parse: btfParser },
  { pattern: "lsm_cgroup+", progType: T.Lsm, kind: "lsm_cgroup", parse: btfParser },
  { pattern: "iter+", progType: T.Tracing, kind: "iter", parse: btfParser },
  { pattern: "iter.s+", progType: T.Tracing, kind: "iter", sleepable: true, parse: btfParser },
  { pattern: "syscall", progType: T.Syscall, kind: "syscall", sleepable: true, userspace: true },
  { pattern: "xdp.frags/devmap", progType: T.Xdp, kind: "xdp" },
  { pattern: "xdp/devmap", progType: T.Xdp, kind: "xdp" },
  { pattern: "xdp.frags/cpumap", progType: T.Xdp, kind: "xdp" },
  { pattern: "xdp/cpumap", progType: T.Xdp, kind: "xdp" },
  { pattern: "xdp.frags", progType: T.Xdp, kind: "xdp", userspace: true },
  { pattern: "xdp", progType: T.Xdp, kind: "xdp", userspace: true },
  { pattern: "perf_event", progType: T.PerfEvent, kind: "perf_event" },
  { pattern: "lwt_in", progType: T.LwtIn, kind: "lwt_in" },
  { pattern: "lwt_out", progType: T.LwtOut, kind: "lwt_out" },
  { pattern: "lwt_xmit", progType: T.LwtXmit, kind: "lwt_xmit" },
  { pattern: "lwt_seg6local", progType: T.LwtSeg6local, kind: "lwt_seg6local" },
  { pattern: "sockops", progType: T.SockOps, kind: "sockops" },
  { pattern: "sk_skb/stream_parser", progType: T.SkSkb, kind: "sk_skb" },
  { pattern: "sk_skb/stream_verdict", progType: T.SkSkb, kind: "sk_skb" },
  { pattern: "sk_skb/verdict", progType: T.SkSkb, kind: "sk_skb" },
  { pattern: "sk_skb", progType: T.SkSkb, kind: "sk_skb" },
  { pattern: "sk_msg", progType: T.SkMsg, kind: "sk_msg" },
  { pattern: "lirc_mode2", progType: T.LircMode2, kind: "lirc_mode2" },
  { pattern: "flow_dissector", progType: T.FlowDissector, kind: "flow_dissector" },
  { pattern: "cgroup_skb/ingress", progType: T.CgroupSkb, kind: "cgroup_skb" },
  { pattern: "cgroup_skb/egress", progType: T.CgroupSkb, kind: "cgroup_skb" },
  { pattern: "cgroup/skb", progType: T.CgroupSkb, kind: "cgroup_skb" },
  { pattern: "cgroup/sock_create", progType: T.CgroupSock, kind: "cgroup_sock" },
  { pattern: "cgroup/sock_release", progType: T.CgroupSock, kind: "cgroup_sock" },
  { pattern: "cgroup/sock", progType: T.CgroupSock, kind: "cgroup_sock" },
  { pattern: "cgroup/post_bind4", progType: T.CgroupSock, kind: "cgroup_sock" },
  { pattern: "cgroup/post_bind6", progType: T.CgroupSock, kind: "cgroup_sock" },
  ...[
    "bind4", "bind6", "connect4", "connect6", "connect_unix", "sendmsg4", "sendmsg6", "sendmsg_unix", "recvmsg4",
    "recvmsg6", "recvmsg_unix", "getpeername4", "getpeername6", "getpeername_unix", "getsockname4",
    "getsockname6", "getsockname_unix",
  ].map((hook): SectionDef => ({ pattern: `cgroup/${hook}`, progType: T.CgroupSockAddr, kind: "cgroup_sock_addr" })),
  { pattern: "cgroup/sysctl", progType: T.CgroupSysctl, kind: "cgroup_sysctl" },
  { pattern: "cgroup/getsockopt", progType: T.CgroupSockopt, kind: "cgroup_sockopt" },
  { pattern: "cgroup/setsockopt", progType: T.CgroupSockopt, kind: "cgroup_sockopt" },
  { pattern: "cgroup/dev", progType: T.CgroupDevice, kind: "cgroup_device" },
  { pattern: "struct_ops+", progType: T.StructOps, kind: "struct_ops" },
  { pattern: "struct_ops.s+", progType: T.StructOps, kind: "struct_ops", sleepable: true },
  { pattern: "sk_lookup", progType: T.SkLookup, kind: "sk_lookup" },
  { pattern: "netfilter", progType: T.Netfilter, kind: "netfilter" },
];

export const SECTION_PATTERNS: readonly string[] = defs.map((d) => d.pattern);

/** The extras after a pattern's prefix, or undefined when `name` does not match the pattern. */
function matchPattern(pattern: string, name: string): string | undefined {
  if (pattern.endsWith("+")) {
    const prefix = pattern.slice(0, -1);
    if (name === prefix) return "";
    return name.startsWith(prefix + "/") ? name.slice(prefix.length + 1) : undefined;
  }
  if (pattern.endsWith("/")) return name.startsWith(pattern) ? name.slice(pattern.length) : undefined;
  return name === pattern ? "" : undefined;
}

/**
 * What a program section name means. An unknown name is not an error (libbpf only logs it): it gives
 * progType Unspec and kind "unknown". A known name with a malformed target throws a SectionNameError.
 */
export function parseSectionName(rawName: string): SectionInfo {
  const autoload = !rawName.startsWith("?");
  const section = autoload ? rawName : rawName.slice(1);
  for (const def of defs) {
    const extras = matchPattern(def.pattern, section);
    if (extras === undefined) continue;
    return {
      section,
      pattern: def.pattern,
      progType: def.progType,
      kind: def.kind,
      sleepable: def.sleepable ?? false,
      autoload,
      userspace: def.userspace ?? false,
      attach: def.parse ? def.parse(extras, section) : undefined,
    };
  }
  return { section, pattern: undefined, progType: ProgType.Unspec, kind: "unknown", sleepable: false, autoload, userspace: false, attach: undefined };
}
