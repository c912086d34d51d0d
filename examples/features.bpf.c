// Exercises the loader and helpers: global data in every section kind, several map types, bpf-to-bpf
// calls, a bpf_loop callback (a function pointer), trace_printk, ringbuf output and tail calls.
// Each program returns 0 when every check passes and the failing line otherwise (test-run checks it).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CHECK(cond) do { if (!(cond)) return __LINE__; } while (0)

struct event {
	__u32 pid;
	__u32 kind;
	char comm[16];
	__u64 value;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct event);
} events_by_id SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} per_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("socket")
int tail_target(void *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jump_table SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

const volatile __u64 multiplier = 3;   /* .rodata: settable before load */
__u64 total = 100;                     /* .data */
__u64 hits;                            /* .bss */

static __noinline __u64 triple_add(__u64 a, __u64 b)
{
	return a * multiplier + b;
}

static long sum_callback(__u64 index, __u64 *acc)
{
	*acc += index;
	return 0;
}

SEC("socket")
int globals_and_calls(void *ctx)
{
	__u64 acc = 0;

	CHECK(triple_add(2, 1) == 7);
	total += 1;
	hits++;
	CHECK(total == 101 && hits == 1);
	CHECK(bpf_loop(5, sum_callback, &acc, 0) == 5);
	CHECK(acc == 10);
	return 0;
}

SEC("socket")
int maps_and_helpers(void *ctx)
{
	__u32 key = 3, zero = 0;
	struct event ev = { .pid = 7, .kind = 2, .value = 42 };
	struct event *found;
	__u64 *counter;

	CHECK(bpf_map_update_elem(&events_by_id, &key, &ev, BPF_NOEXIST) == 0);
	CHECK(bpf_map_update_elem(&events_by_id, &key, &ev, BPF_NOEXIST) == -17 /* EEXIST */);
	found = bpf_map_lookup_elem(&events_by_id, &key);
	CHECK(found && found->value == 42);
	counter = bpf_map_lookup_elem(&counters, &key);
	CHECK(counter);
	*counter += 5;
	counter = bpf_map_lookup_elem(&per_cpu, &zero);
	CHECK(counter);
	*counter += 1;
	key = 100;
	CHECK(bpf_map_lookup_elem(&counters, &key) == 0);
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));
	CHECK(bpf_ringbuf_output(&events, &ev, sizeof(ev), 0) == 0);
	bpf_printk("maps_and_helpers: value=%llu kind=%d", ev.value, ev.kind);
	return 0;
}

SEC("socket")
int tail_target(void *ctx)
{
	return 0;
}

SEC("socket")
int tail_caller(void *ctx)
{
	bpf_tail_call(ctx, &jump_table, 1);
	return __LINE__; /* only reached when the tail call fails */
}

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern _Bool LINUX_HAS_BPF_COOKIE __kconfig __weak;
extern int CONFIG_HZ __kconfig __weak;
extern enum libbpf_tristate CONFIG_BPF_SYSCALL __kconfig __weak;

const volatile __u32 expected_version = 0; /* set before load (test-run --set) */
const volatile int expected_hz = 0;

SEC("socket")
int kconfig_values(void *ctx)
{
	CHECK(LINUX_HAS_BPF_COOKIE);
	CHECK(LINUX_KERNEL_VERSION == expected_version);
	CHECK(CONFIG_HZ == expected_hz);
	CHECK(CONFIG_BPF_SYSCALL == TRI_YES);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
