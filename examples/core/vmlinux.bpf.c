/* CO-RE against the running kernel's BTF (/sys/kernel/btf/vmlinux), checking only facts that no kernel
 * version changes: uapi enums, list_head, the iphdr bitfields, the syscall tracepoint record. Returns 0 when
 * all checks pass, else the failing line. Loadable by libbpf too, so the kernel can run it as a cross-check. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define __core __attribute__((preserve_access_index))

struct list_head___k {
	struct list_head___k *next, *prev;
} __core;

struct iphdr___k {
	__u8 ihl : 4, version : 4;
	__u8 tos;
} __core;

struct trace_event_raw_sys_enter___k {
	long id;
	unsigned long args[6];
} __core;

struct task_struct___k {
	int pid;
	int tgid;
	char comm[16];
	int bpftime_no_such_field;
} __core;

struct bpftime_no_such_type___k {
	int x;
} __core;

enum bpf_map_type___k {
	BPF_MAP_TYPE_HASH___k = 100,
	BPF_MAP_TYPE_RINGBUF___k = 200,
	BPF_MAP_TYPE_BPFTIME_NONE___k = 300,
};

enum perf_callchain_context___k {
	PERF_CONTEXT_HV___k = 1,
};

/* TYPE_MATCHES through pointers and a function pointer. */
struct list_head___m {
	struct list_head___m *next;
	struct list_head___m *prev;
} __core;

struct callback_head___m {
	struct callback_head___m *next;
	void (*func)(struct callback_head___m *head);
} __core;

struct list_head___wrong {
	int next;
} __core;

SEC("syscall")
int kernel_facts(void *ctx)
{
	struct task_struct___k *t = 0;

	if (bpf_core_field_offset(struct list_head___k, next) != 0)
		return __LINE__;
	if (bpf_core_field_offset(struct list_head___k, prev) != 8)
		return __LINE__;
	if (bpf_core_type_size(struct list_head___k) != 16)
		return __LINE__;
	if (bpf_core_field_offset(struct trace_event_raw_sys_enter___k, args) != 16)
		return __LINE__;
	if (bpf_core_field_size(struct trace_event_raw_sys_enter___k, args) != 48)
		return __LINE__;
	if (!bpf_core_field_exists(t->pid) || !bpf_core_field_exists(t->tgid))
		return __LINE__;
	if (bpf_core_field_size(t->pid) != 4 || !__builtin_preserve_field_info(t->pid, BPF_FIELD_SIGNED))
		return __LINE__;
	if (bpf_core_field_size(t->comm) != 16)
		return __LINE__;
	if (bpf_core_field_exists(t->bpftime_no_such_field))
		return __LINE__;
	if (bpf_core_type_exists(struct bpftime_no_such_type___k))
		return __LINE__;
	if (!bpf_core_type_exists(struct task_struct___k))
		return __LINE__;
	return 0;
}

SEC("syscall")
int kernel_enums(void *ctx)
{
	if (bpf_core_enum_value(enum bpf_map_type___k, BPF_MAP_TYPE_HASH___k) != 1)
		return __LINE__;
	if (bpf_core_enum_value(enum bpf_map_type___k, BPF_MAP_TYPE_RINGBUF___k) != 27)
		return __LINE__;
	if (bpf_core_enum_value_exists(enum bpf_map_type___k, BPF_MAP_TYPE_BPFTIME_NONE___k))
		return __LINE__;
	/* PERF_CONTEXT_HV is (__u64)-32: an ENUM64 in new BTF, a sign-extended 32-bit ENUM in old BTF. */
	if (bpf_core_enum_value(enum perf_callchain_context___k, PERF_CONTEXT_HV___k) != (__u64)-32)
		return __LINE__;
	return 0;
}

SEC("syscall")
int kernel_bitfields(void *ctx)
{
	__u64 buf[2] = { 0x45 }; /* an IPv4 header's first byte: version 4, header length 5 words */
	struct iphdr___k *ip = (void *)buf;

	if (BPF_CORE_READ_BITFIELD(ip, ihl) != 5)
		return __LINE__;
	if (BPF_CORE_READ_BITFIELD(ip, version) != 4)
		return __LINE__;
	if (__builtin_preserve_field_info(ip->version, BPF_FIELD_LSHIFT_U64) != 56)
		return __LINE__;
	if (__builtin_preserve_field_info(ip->version, BPF_FIELD_RSHIFT_U64) != 60)
		return __LINE__;
	return 0;
}

SEC("syscall")
int kernel_type_matches(void *ctx)
{
	if (!bpf_core_type_matches(struct list_head___m))
		return __LINE__;
	if (!bpf_core_type_matches(struct callback_head___m))
		return __LINE__;
	if (bpf_core_type_matches(struct list_head___wrong))
		return __LINE__;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
