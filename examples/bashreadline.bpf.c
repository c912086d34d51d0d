// Reports every line bash reads, with the reading process, like libbpf-tools' bashreadline: a uretprobe on
// readline() sends the returned string through a ring buffer.
// Run: bpftime attach $(pgrep -n bash) with this object loaded (bpftime load examples/bashreadline.bpf.o)
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_LINE 80

struct line_event {
	__u32 pid;
	char comm[16];
	char line[MAX_LINE];
};

/* Records carry no type; this puts struct line_event into the BTF so bpftime can decode them. */
struct line_event *unused_event_type __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} lines SEC(".maps");

SEC("uretprobe//usr/bin/bash:readline")
int BPF_KRETPROBE(readline_return, const char *ret)
{
	struct line_event *event;

	if (!ret)
		return 0;
	event = bpf_ringbuf_reserve(&lines, sizeof(*event), 0);
	if (!event)
		return 0;
	event->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(event->comm, sizeof(event->comm));
	bpf_probe_read_user_str(event->line, sizeof(event->line), ret);
	bpf_ringbuf_submit(event, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
