/* CO-RE field relocations, checked by execution against examples/core/target.btf: every program returns 0
 * when all its checks pass and the line of the first failed check otherwise.
 *
 * Each program lays out a memory image with the target's layout (image_core_sample, no relocations) and
 * reads it back through struct core_sample___l, whose layout differs: only correct relocation reads the
 * right values. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "local_types.h"

static __always_inline void fill_image(struct image_core_sample *img)
{
	img->a = -5;
	img->b = 0x1122334455667788LL;
	img->c = 0xdeadbeef;
	img->d = -2;
	img->x = 40;
	img->y = 41;
	img->comm[0] = 'c';
	img->comm[1] = 'o';
	img->comm[2] = 'r';
	img->comm[3] = 'e';
	img->lo = 5;
	img->mid = 300;
	img->neg = -7;
	img->span = 0x12345678abULL;
	img->state = CORE_STOPPED;
	img->sstate = CORE_NEG;
	img->inner.i1 = 61;
	img->inner.i2 = 62;
	img->count = 0xbeef;
	img->data[0] = 70;
	img->data[2] = 72;
}

SEC("syscall")
int field_offsets(void *ctx)
{
	if (bpf_core_field_offset(struct core_sample___l, a) != offsetof(struct image_core_sample, a))
		return __LINE__;
	if (bpf_core_field_offset(struct core_sample___l, b) != offsetof(struct image_core_sample, b))
		return __LINE__;
	if (bpf_core_field_offset(struct core_sample___l, c) != offsetof(struct image_core_sample, c))
		return __LINE__;
	if (bpf_core_field_offset(struct core_sample___l, x) != offsetof(struct image_core_sample, x))
		return __LINE__;
	if (bpf_core_field_offset(struct core_sample___l, y) != offsetof(struct image_core_sample, y))
		return __LINE__;
	if (bpf_core_field_offset(struct core_sample___l, comm) != offsetof(struct image_core_sample, comm))
		return __LINE__;
	if (bpf_core_field_offset(struct core_sample___l, state) != offsetof(struct image_core_sample, state))
		return __LINE__;
	if (bpf_core_field_offset(struct core_sample___l, inner.i2) !=
	    offsetof(struct image_core_sample, inner) + offsetof(struct image_core_inner, i2))
		return __LINE__;
	if (bpf_core_field_offset(struct core_sample___l, next) != offsetof(struct image_core_sample, next))
		return __LINE__;
	if (bpf_core_field_offset(struct core_sample___l, count) != offsetof(struct image_core_sample, count))
		return __LINE__;
	if (bpf_core_field_offset(struct core_sample___l, data) != offsetof(struct image_core_sample, data))
		return __LINE__;
	if (bpf_core_field_offset(struct core_inner___l, i1) != 0)
		return __LINE__;
	return 0;
}

SEC("syscall")
int field_sizes_and_existence(void *ctx)
{
	struct core_sample___l *s = 0;

	if (bpf_core_field_size(s->c) != 4)
		return __LINE__;
	if (bpf_core_field_size(s->b) != 8)
		return __LINE__;
	if (bpf_core_field_size(s->comm) != 16)
		return __LINE__;
	if (bpf_core_field_size(s->inner) != sizeof(struct image_core_inner))
		return __LINE__;
	if (bpf_core_field_size(s->d) != 2)
		return __LINE__;
	if (!bpf_core_field_exists(s->x))
		return __LINE__;
	if (!bpf_core_field_exists(s->inner.i1))
		return __LINE__;
	if (bpf_core_field_exists(s->missing))
		return __LINE__;
	if (bpf_core_field_exists(((struct core_sample___old *)s)->alpha))
		return __LINE__;
	if (!bpf_core_field_exists(((struct core_sample___new *)s)->a))
		return __LINE__;
	if (bpf_core_field_exists(((struct core_absent___l *)s)->z))
		return __LINE__;
	return 0;
}

SEC("syscall")
int field_signedness(void *ctx)
{
	struct core_sample___l *s = 0;

	if (!__builtin_preserve_field_info(s->a, BPF_FIELD_SIGNED))
		return __LINE__;
	if (__builtin_preserve_field_info(s->c, BPF_FIELD_SIGNED))
		return __LINE__;
	if (!__builtin_preserve_field_info(s->neg, BPF_FIELD_SIGNED))
		return __LINE__;
	if (__builtin_preserve_field_info(s->mid, BPF_FIELD_SIGNED))
		return __LINE__;
	if (__builtin_preserve_field_info(s->state, BPF_FIELD_SIGNED))
		return __LINE__;
	if (!__builtin_preserve_field_info(s->sstate, BPF_FIELD_SIGNED))
		return __LINE__;
	return 0;
}

SEC("syscall")
int field_reads(void *ctx)
{
	__u64 buf[SAMPLE_BUFFER_WORDS] = {};
	struct core_sample___l *s = (void *)buf;

	fill_image((void *)buf);
	if (s->a != -5)
		return __LINE__;
	if (s->b != 0x1122334455667788LL)
		return __LINE__;
	/* An 8-byte load in the program, narrowed to the target's 4 bytes. */
	if (s->c != 0xdeadbeef)
		return __LINE__;
	if (s->x != 40 || s->y != 41)
		return __LINE__;
	if (s->comm[0] != 'c' || s->comm[3] != 'e')
		return __LINE__;
	if (s->inner.i1 != 61 || s->inner.i2 != 62)
		return __LINE__;
	if (s->count != 0xbeef)
		return __LINE__;
	if (s->data[0] != 70 || s->data[2] != 72)
		return __LINE__;
	/* A guarded access to a field the target lacks: the load is poisoned but never runs. */
	if (bpf_core_field_exists(s->missing) && s->missing != 0)
		return __LINE__;
	return 0;
}

SEC("syscall")
int field_writes(void *ctx)
{
	__u64 buf[SAMPLE_BUFFER_WORDS] = {};
	struct core_sample___l *s = (void *)buf;
	struct image_core_sample *img = (void *)buf;

	s->a = 1234;
	s->count = 4321;
	s->inner.i2 = -99;
	img->d = 77;
	s->c = 0xcafe; /* an 8-byte store narrowed to the target's 4 bytes: must not clobber d */
	if (img->a != 1234 || img->count != 4321 || img->inner.i2 != -99)
		return __LINE__;
	if (img->c != 0xcafe || img->d != 77)
		return __LINE__;
	return 0;
}

SEC("syscall")
int bitfields(void *ctx)
{
	__u64 buf[SAMPLE_BUFFER_WORDS] = {};
	struct core_sample___l *s = (void *)buf;

	fill_image((void *)buf);
	if (BPF_CORE_READ_BITFIELD(s, lo) != 5)
		return __LINE__;
	if (BPF_CORE_READ_BITFIELD(s, mid) != 300)
		return __LINE__;
	if ((long long)BPF_CORE_READ_BITFIELD(s, neg) != -7)
		return __LINE__;
	if (BPF_CORE_READ_BITFIELD(s, span) != 0x12345678abULL)
		return __LINE__;
	if (bpf_core_field_size(s->span) != 8)
		return __LINE__;
	return 0;
}

SEC("syscall")
int array_and_root_index(void *ctx)
{
	__u64 buf[SAMPLE_BUFFER_WORDS] = {};
	struct core_sample___l *s = (void *)buf;
	long want, got;

	/* &s[1].b: the access string starts with root index 1. */
	want = sizeof(struct image_core_sample) + offsetof(struct image_core_sample, b);
	got = (long)((char *)__builtin_preserve_access_index(&s[1].b) - (char *)s);
	if (got != want)
		return __LINE__;
	want = offsetof(struct image_core_sample, comm) + 5;
	got = (long)((char *)__builtin_preserve_access_index(&s->comm[5]) - (char *)s);
	if (got != want)
		return __LINE__;
	/* Past the declared length of the flexible array member. */
	want = offsetof(struct image_core_sample, data) + 3 * sizeof(int);
	got = (long)((char *)__builtin_preserve_access_index(&s->data[3]) - (char *)s);
	if (got != want)
		return __LINE__;
	return 0;
}

SEC("syscall")
int renamed_field(void *ctx)
{
	__u64 buf[SAMPLE_BUFFER_WORDS] = {};
	void *p = buf;
	int value;

	fill_image((void *)buf);
	/* The idiom for fields renamed between kernel versions: ask which flavour the target has. */
	if (bpf_core_field_exists(((struct core_sample___old *)p)->alpha))
		value = ((struct core_sample___old *)p)->alpha;
	else
		value = ((struct core_sample___new *)p)->a;
	if (value != -5)
		return __LINE__;
	return 0;
}

SEC("syscall")
int core_read_chain(void *ctx)
{
	__u64 buf[SAMPLE_BUFFER_WORDS] = {};
	struct image_core_inner next = { .i1 = 81, .i2 = 82 };
	struct image_core_sample *img = (void *)buf;
	struct core_sample___l *s = (void *)buf;

	img->next = &next;
	img->inner.i2 = 62;
	/* BPF_CORE_READ chases the pointer with bpf_probe_read_kernel, one relocated offset per step. */
	if (BPF_CORE_READ(s, next, i2) != 82)
		return __LINE__;
	if (BPF_CORE_READ(s, next, i1) != 81)
		return __LINE__;
	if (BPF_CORE_READ(s, inner.i2) != 62)
		return __LINE__;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
