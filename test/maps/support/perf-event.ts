// perf_event_open of the software event that bpf_perf_event_output writes to (PERF_COUNT_SW_BPF_OUTPUT),
// set up as libbpf's perf_buffer does: one event per CPU, sample_type PERF_SAMPLE_RAW, period 1.

import { syscall, lastErrno } from "../../../src/native/libc.js";
import { scratchSlices, type NativeSlice } from "../../../src/native/native-scratch.js";

const SYS_PERF_EVENT_OPEN = 298;
const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_BPF_OUTPUT = 10;
const PERF_SAMPLE_RAW = 1 << 10;
const PERF_FLAG_FD_CLOEXEC = 8;
const ATTR = { type: 0, size: 4, config: 8, samplePeriod: 16, sampleType: 24, wakeupEvents: 48, bytes: 128 } as const;

/** An fd for CPU `cpu`'s BPF output event, or -errno. */
export function openBpfOutputEvent(cpu: number): number {
  const [attr] = scratchSlices([ATTR.bytes]) as [NativeSlice];
  const v = attr.view;
  v.setUint32(ATTR.type, PERF_TYPE_SOFTWARE, true);
  v.setUint32(ATTR.size, ATTR.bytes, true);
  v.setBigUint64(ATTR.config, BigInt(PERF_COUNT_SW_BPF_OUTPUT), true);
  v.setBigUint64(ATTR.samplePeriod, 1n, true);
  v.setBigUint64(ATTR.sampleType, BigInt(PERF_SAMPLE_RAW), true);
  v.setUint32(ATTR.wakeupEvents, 1, true);
  const fd = Number(syscall(SYS_PERF_EVENT_OPEN, "void *", attr.address, "int", -1, "int", cpu, "int", -1, "unsigned long", PERF_FLAG_FD_CLOEXEC));
  return fd < 0 ? -lastErrno() : fd;
}
