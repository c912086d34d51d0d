// Counts calls of hot_function in libvictim.so (the attach/detach test victim), in one array slot.
// Run: bpftime load examples/hot_calls.bpf.o, then bpftime attach PID
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64); /* calls */
} hot_calls SEC(".maps");

SEC("uprobe/libvictim.so:hot_function")
int count_hot_call(void *ctx)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&hot_calls, &zero);

	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
