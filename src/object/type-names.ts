// Names of kernel map and program types as bpftool prints them (the UAPI enum names in lower case).

import { MapType, mapTypeName } from "../maps/map-types.js";

const PROG_TYPE_NAMES: readonly string[] = [
  "unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp", "perf_event",
  "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops", "sk_skb", "cgroup_device", "sk_msg",
  "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local", "lirc_mode2", "sk_reuseport", "flow_dissector",
  "cgroup_sysctl", "raw_tracepoint_writable", "cgroup_sockopt", "tracing", "struct_ops", "ext", "lsm",
  "sk_lookup", "syscall", "netfilter",
];

/** The highest map type id the UAPI defines (BPF_MAP_TYPE_ARENA). */
export const LAST_MAP_TYPE = Math.max(...Object.values(MapType));

export { mapTypeName };

export function progTypeName(type: number): string {
  return PROG_TYPE_NAMES[type] ?? `type ${type}`;
}
