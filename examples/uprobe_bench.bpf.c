// The programs of the uprobe benchmark (bench/uprobe.ts), which attaches each one on its own to the
// functions of its victim, test/session/victims/bench-calls.c:
//   empty_entry   a uprobe that does nothing: the cost of the hook itself
//   count_pid     a uprobe counting calls per pid, as malloc.bpf.c does (pid_tgid, lookup, add or insert)
//   empty_return  a uretprobe that does nothing
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);   /* pid */
	__type(value, __u64); /* calls */
} calls SEC(".maps");

SEC("uprobe/bench-calls:push_target")
int empty_entry(void *ctx)
{
	return 0;
}

SEC("uprobe/bench-calls:push_target")
int count_pid(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *count = bpf_map_lookup_elem(&calls, &pid);

	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&calls, &pid, &one, BPF_NOEXIST);
	return 0;
}

SEC("uretprobe/bench-calls:push_target")
int empty_return(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
