// Whether this process can use kernel eBPF, so tests that need it can skip with a reason a person can act on.

import { BpfMapType } from "./bpf-constants.js";
import { BpfError, closeFd, createMap } from "./bpf-syscall.js";
import { Errno } from "./syscall-error.js";

export type BpfAvailability = { ok: true } | { ok: false; reason: string };

let cached: BpfAvailability | undefined;

function probe(): BpfAvailability {
  if (process.platform !== "linux" || process.arch !== "x64") {
    return { ok: false, reason: `kernel eBPF needs Linux on x86-64 (this is ${process.platform}/${process.arch})` };
  }
  try {
    // Creating the smallest map exercises the FFI, the syscall and the permission check at once.
    closeFd(createMap({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }));
    return { ok: true };
  } catch (error) {
    if (error instanceof BpfError) {
      if (error.errno === Errno.EPERM) return { ok: false, reason: "bpf() returned EPERM: run as root (or with CAP_BPF)" };
      if (error.errno === Errno.ENOSYS) return { ok: false, reason: "bpf() is not available in this kernel (ENOSYS)" };
      return { ok: false, reason: `bpf(BPF_MAP_CREATE) failed: ${error.code}` };
    }
    return { ok: false, reason: `cannot call bpf(): ${(error as Error).message}` };
  }
}

/** Probed once per process; later calls return the same answer. */
export function kernelBpfAvailable(): BpfAvailability {
  cached ??= probe();
  return cached;
}
