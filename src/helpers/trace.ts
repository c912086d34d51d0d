// bpf_trace_printk output: the record a program produces, and the line trace_pipe would show for it.

export interface TraceRecord {
  /** CLOCK_MONOTONIC time of the call, in nanoseconds. */
  readonly timestampNs: bigint;
  readonly pid: number;
  readonly tid: number;
  readonly cpu: number;
  readonly comm: string;
  readonly text: string;
}

/** Where trace_printk records go: today a callback, later the session's shared trace ring. */
export type TraceSink = (record: TraceRecord) => void;

/**
 * The record as a trace_pipe line, e.g.
 * `            node-4242    [001] ....1  1234.567890: bpf_trace_printk: hello`.
 * The kernel prints the thread id after the comm; the irq-state column is fixed, as userspace has none.
 */
export function formatTraceLine(record: TraceRecord): string {
  const micros = record.timestampNs / 1000n;
  const seconds = (micros / 1_000_000n).toString().padStart(5, " ");
  const fraction = (micros % 1_000_000n).toString().padStart(6, "0");
  const task = `${record.comm.padStart(16, " ")}-${String(record.tid).padEnd(7, " ")}`;
  const cpu = String(record.cpu).padStart(3, "0");
  const text = record.text.endsWith("\n") ? record.text.slice(0, -1) : record.text;
  return `${task} [${cpu}] ....1 ${seconds}.${fraction}: bpf_trace_printk: ${text}`;
}
