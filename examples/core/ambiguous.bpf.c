/* Relocations libbpf refuses outright against examples/core/target.btf: two target flavours of core_amb
 * place field f differently, and two flavours of core_dup have different type ids. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct core_amb {
	int f;
} __attribute__((preserve_access_index));

struct core_dup {
	int g;
} __attribute__((preserve_access_index));

SEC("syscall")
int ambiguous_offset(void *ctx)
{
	return bpf_core_field_offset(struct core_amb, f);
}

SEC("syscall")
int ambiguous_type_id(void *ctx)
{
	return bpf_core_type_id_kernel(struct core_dup);
}

SEC("syscall")
int unambiguous_offset(void *ctx)
{
	/* Both core_dup flavours agree on g. */
	return bpf_core_field_offset(struct core_dup, g);
}

char LICENSE[] SEC("license") = "GPL";
