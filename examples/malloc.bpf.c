// Counts malloc calls per process: bpftime's quick-start example.
// Run: bpftime run examples/malloc.bpf.o -- <command>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);   /* pid */
	__type(value, __u64); /* calls */
} malloc_calls SEC(".maps");

SEC("uprobe/libc.so.6:malloc")
int count_malloc(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *count = bpf_map_lookup_elem(&malloc_calls, &pid);

	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&malloc_calls, &pid, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
