// Pins the calling thread to one CPU, so that kernel map operations which depend on the CPU they run on
// (LRU local lists) happen where the test says. Node makes its bpf() calls from the main thread, so
// pinning that thread is enough.

import koffi from "koffi";

const CPU_SET_BYTES = 128;

interface Affinity {
  setaffinity: (pid: number, size: number, mask: Uint8Array) => number;
  getaffinity: (pid: number, size: number, mask: Uint8Array) => number;
  getcpu: () => number;
}

let bound: Affinity | undefined;

function affinity(): Affinity {
  if (bound) return bound;
  const lib = koffi.load("libc.so.6");
  bound = {
    setaffinity: lib.func("int sched_setaffinity(int pid, size_t size, _Inout_ uint8_t *mask)"),
    getaffinity: lib.func("int sched_getaffinity(int pid, size_t size, _Inout_ uint8_t *mask)"),
    getcpu: lib.func("int sched_getcpu()"),
  };
  return bound;
}

/** CPUs this thread may currently run on. */
export function allowedCpus(): number[] {
  const mask = new Uint8Array(CPU_SET_BYTES);
  if (affinity().getaffinity(0, CPU_SET_BYTES, mask) !== 0) return [];
  const cpus: number[] = [];
  for (let cpu = 0; cpu < CPU_SET_BYTES * 8; cpu++) if (mask[cpu >> 3]! & (1 << (cpu & 7))) cpus.push(cpu);
  return cpus;
}

/** Runs `body` with this thread pinned to `cpu`, restoring the previous affinity afterwards. */
export function onCpu<T>(cpu: number, body: () => T): T {
  const previous = new Uint8Array(CPU_SET_BYTES);
  affinity().getaffinity(0, CPU_SET_BYTES, previous);
  const mask = new Uint8Array(CPU_SET_BYTES);
  mask[cpu >> 3] = 1 << (cpu & 7);
  if (affinity().setaffinity(0, CPU_SET_BYTES, mask) !== 0) throw new Error(`cannot pin to CPU ${cpu}`);
  try {
    if (affinity().getcpu() !== cpu) throw new Error(`pinned to CPU ${cpu} but running on ${affinity().getcpu()}`);
    return body();
  } finally {
    affinity().setaffinity(0, CPU_SET_BYTES, previous);
  }
}
