// Latency of libc's nanosleep as a log2 histogram in microseconds, like libbpf-tools' funclatency:
// the uprobe stores the entry time per thread, the uretprobe adds the elapsed time to the histogram.
// Run: bpftime run examples/funclatency.bpf.o -- sleep 1
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_SLOTS 27

struct hist {
	__u32 slots[MAX_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);   /* thread id */
	__type(value, __u64); /* entry time, ns */
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} usecs SEC(".maps");

static __always_inline __u32 log2l(__u64 v)
{
	__u32 r = 0;

	while (v > 1 && r < MAX_SLOTS - 1) {
		v >>= 1;
		r++;
	}
	return r;
}

SEC("uprobe/libc.so.6:nanosleep")
int BPF_KPROBE(nanosleep_entry)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&starts, &tid, &now, BPF_ANY);
	return 0;
}

SEC("uretprobe/libc.so.6:nanosleep")
int BPF_KRETPROBE(nanosleep_return)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	__u64 *start = bpf_map_lookup_elem(&starts, &tid);
	struct hist *hist;

	if (!start)
		return 0;
	hist = bpf_map_lookup_elem(&usecs, &zero);
	if (hist) {
		__u32 slot = log2l((bpf_ktime_get_ns() - *start) / 1000);

		__sync_fetch_and_add(&hist->slots[slot], 1);
	}
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
