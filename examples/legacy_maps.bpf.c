// A map in the legacy `maps` section (libbpf >= 1.0 refuses these; older tools still ship them).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct legacy_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct legacy_map_def SEC("maps") legacy_counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

SEC("socket")
int count(void *ctx)
{
	__u32 key = 1;
	__u64 *value = bpf_map_lookup_elem(&legacy_counts, &key);

	if (!value)
		return 1;
	*value += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
