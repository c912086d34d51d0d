// Numbers of the kernel's bpf() ABI (include/uapi/linux/bpf.h), the ones this project uses.

import { MapType } from "../maps/map-types.js";

export const SYS_BPF_X86_64 = 321;

export const BpfCommand = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  PROG_TEST_RUN: 10,
} as const;
export type BpfCommand = (typeof BpfCommand)[keyof typeof BpfCommand];

/** Map type ids (BPF_MAP_TYPE_*): the maps layer's table, under the name the syscall wrappers use. */
export const BpfMapType = MapType;

/** Flags of BPF_MAP_UPDATE_ELEM. */
export const BpfUpdateFlag = {
  ANY: 0,
  NOEXIST: 1,
  EXIST: 2,
  LOCK: 4,
} as const;

/** Flags of BPF_MAP_CREATE. */
export const BpfMapFlag = {
  NO_PREALLOC: 1 << 0,
  RDONLY_PROG: 1 << 7,
  MMAPABLE: 1 << 10,
} as const;

/** Flags of BPF_PROG_LOAD. */
export const BpfProgFlag = {
  STRICT_ALIGNMENT: 1 << 0,
  SLEEPABLE: 1 << 4,
} as const;

/** Longest map or program name, including the terminating NUL. */
export const BPF_OBJ_NAME_LEN = 16;

/** XDP return codes; XDP_PASS is what a test program returns when the code itself does not matter. */
export const XdpAction = {
  ABORTED: 0,
  DROP: 1,
  PASS: 2,
  TX: 3,
  REDIRECT: 4,
} as const;
