// Names of kernel map and program types as bpftool prints them (the UAPI enum names in lower case).

const MAP_TYPE_NAMES: readonly string[] = [
  "unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash", "percpu_array", "stack_trace",
  "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps", "hash_of_maps", "devmap",
  "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage", "reuseport_sockarray", "percpu_cgroup_storage",
  "queue", "stack", "sk_storage", "devmap_hash", "struct_ops", "ringbuf", "inode_storage", "task_storage",
  "bloom_filter", "user_ringbuf", "cgrp_storage", "arena",
];

const PROG_TYPE_NAMES: readonly string[] = [
  "unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp", "perf_event",
  "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops", "sk_skb", "cgroup_device", "sk_msg",
  "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local", "lirc_mode2", "sk_reuseport", "flow_dissector",
  "cgroup_sysctl", "raw_tracepoint_writable", "cgroup_sockopt", "tracing", "struct_ops", "ext", "lsm",
  "sk_lookup", "syscall", "netfilter",
];

/** The highest map type id the UAPI defines (BPF_MAP_TYPE_ARENA). */
export const LAST_MAP_TYPE = MAP_TYPE_NAMES.length - 1;

export function mapTypeName(type: number): string {
  return MAP_TYPE_NAMES[type] ?? `type ${type}`;
}

export function mapTypeId(name: string): number | undefined {
  const id = MAP_TYPE_NAMES.indexOf(name);
  return id < 0 ? undefined : id;
}

export function progTypeName(type: number): string {
  return PROG_TYPE_NAMES[type] ?? `type ${type}`;
}
