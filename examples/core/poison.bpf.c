/* Relocations that cannot be resolved against examples/core/target.btf. The object still loads; each
 * program runs into its poisoned instruction, which must stop the run with a message naming the relocation. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "local_types.h"

SEC("syscall")
int read_missing_field(void *ctx)
{
	__u64 buf[SAMPLE_BUFFER_WORDS] = {};
	struct core_sample___l *s = (void *)buf;

	return s->missing;
}

SEC("syscall")
int read_resized_signed_field(void *ctx)
{
	__u64 buf[SAMPLE_BUFFER_WORDS] = {};
	struct core_sample___l *s = (void *)buf;

	/* A 4-byte signed int locally, a 2-byte short in the target: resizing the load would lose the sign. */
	return s->d;
}

SEC("syscall")
int read_absent_type(void *ctx)
{
	__u64 buf[SAMPLE_BUFFER_WORDS] = {};
	struct core_absent___l *p = (void *)buf;

	return p->z;
}

SEC("syscall")
int missing_enumerator(void *ctx)
{
	return bpf_core_enum_value(enum core_state___l, CORE_GONE___l);
}

char LICENSE[] SEC("license") = "GPL";
