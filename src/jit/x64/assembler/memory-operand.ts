// A memory operand [base + index * scale + disp]. The compiler keeps one mutable operand and rewrites
// its fields for each access, so that addressing memory allocates nothing.

import type { CodeBuffer } from "./code-buffer.js";
import { opRipRelative, opRM } from "./encoding.js";
import { NO_INDEX, RIP } from "./registers.js";

export interface Mem {
  /** A register, or RIP for [rip + disp] where disp is then a code offset (the target). */
  base: number;
  index: number;
  scale: 1 | 2 | 4 | 8;
  disp: number;
}

export function mem(base: number, disp = 0, index = NO_INDEX, scale: 1 | 2 | 4 | 8 = 1): Mem {
  return { base, index, scale, disp };
}

/** [rip + x] addressing the code offset `target`. */
export function ripMem(target: number): Mem {
  return { base: RIP, index: NO_INDEX, scale: 1, disp: target };
}

/** Emits prefixes, opcode, ModRM and the rest of the address for `m`; `immediateBytes` follow it. */
export function opMem(buf: CodeBuffer, flags: number, opcode: number, reg: number, m: Mem, immediateBytes = 0): void {
  if (m.base === RIP) opRipRelative(buf, flags, opcode, reg, m.disp, immediateBytes);
  else opRM(buf, flags, opcode, reg, m.base, m.index, m.scale, m.disp);
}

