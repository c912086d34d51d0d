import type { HelperEnvironment } from "../../src/helpers/environment.js";
import type { TraceRecord } from "../../src/helpers/trace.js";

/** A fixed task (tgid 1234, tid 1235, uid 10, gid 20, comm "test-task") that collects trace records. */
export function callbacksEnv(traces: TraceRecord[] = [], signals: number[] = []): HelperEnvironment {
  return {
    task: () => ({ tgid: 1234, pid: 1235, uid: 10, gid: 20, comm: "test-task" }),
    cpu: () => 0,
    trace: (record) => traces.push(record),
    sendSignal: (signal) => signals.push(signal),
    probe: () => undefined,
  };
}
