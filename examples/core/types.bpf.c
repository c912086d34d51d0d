/* CO-RE type and enum relocations, checked by execution against examples/core/target.btf (0 = all checks
 * passed, else the failing line). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "local_types.h"

SEC("syscall")
int type_exists_and_size(void *ctx)
{
	if (!bpf_core_type_exists(struct core_sample___l))
		return __LINE__;
	if (!bpf_core_type_exists(core_sample_t___l))
		return __LINE__;
	if (bpf_core_type_exists(struct core_absent___l))
		return __LINE__;
	if (bpf_core_type_size(struct core_sample___l) != sizeof(struct image_core_sample))
		return __LINE__;
	if (bpf_core_type_size(core_sample_t___l) != sizeof(struct image_core_sample))
		return __LINE__;
	if (bpf_core_type_size(struct core_inner___l) != sizeof(struct image_core_inner))
		return __LINE__;
	if (bpf_core_type_size(struct core_absent___l) != 0)
		return __LINE__;
	/* Type existence ignores sizes below the root name. */
	if (!bpf_core_type_exists(struct core_match___int))
		return __LINE__;
	return 0;
}

SEC("syscall")
int type_ids(void *ctx)
{
	if (bpf_core_type_id_local(struct core_sample___l) == 0)
		return __LINE__;
	if (bpf_core_type_id_kernel(struct core_sample___l) == 0)
		return __LINE__;
	if (bpf_core_type_id_kernel(struct core_absent___l) != 0)
		return __LINE__;
	return 0;
}

SEC("syscall")
int type_matches(void *ctx)
{
	if (!bpf_core_type_matches(struct core_match___ok))
		return __LINE__;
	if (bpf_core_type_matches(struct core_match___int))
		return __LINE__;
	if (bpf_core_type_matches(struct core_match___extra))
		return __LINE__;
	if (bpf_core_type_matches(struct core_absent___l))
		return __LINE__;
	return 0;
}

SEC("syscall")
int enum_values(void *ctx)
{
	if (!bpf_core_enum_value_exists(enum core_state___l, CORE_RUNNING___l))
		return __LINE__;
	if (bpf_core_enum_value(enum core_state___l, CORE_RUNNING___l) != 7)
		return __LINE__;
	if (bpf_core_enum_value(enum core_state___l, CORE_STOPPED___l) != 9)
		return __LINE__;
	if (bpf_core_enum_value(enum core_state___l, CORE_IDLE___l) != 0)
		return __LINE__;
	if (bpf_core_enum_value_exists(enum core_state___l, CORE_GONE___l))
		return __LINE__;
	if (bpf_core_enum_value(enum core_signed_state___l, CORE_NEG___l) != -3)
		return __LINE__;
	if (bpf_core_enum_value(enum core_wide___l, CORE_WIDE_BIG___l) != 0x123456789aLL)
		return __LINE__;
	if (bpf_core_enum_value(enum core_wide___narrow, CORE_WIDE_SMALL___narrow) != 1)
		return __LINE__;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
