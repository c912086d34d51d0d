// The few x86-64 instructions the generated helpers need and the shared assembler (jit/x64/assembler)
// has no form for: spin-wait hints, CPU and time-stamp reads, the syscall instruction, string moves and
// loads relative to the %fs segment (the thread pointer, where libc keeps per-thread data).

import type { CodeBuffer } from "../x64/assembler/code-buffer.js";

/** `pause`: tells the core it is in a spin-wait loop (saves power, avoids a memory-order flush on exit). */
export function pause(buf: CodeBuffer): void {
  buf.byte(0xf3);
  buf.byte(0x90);
}

/** `rdtscp`: edx:eax = time-stamp counter, ecx = IA32_TSC_AUX (Linux keeps (node << 12) | cpu there). */
export function rdtscp(buf: CodeBuffer): void {
  buf.byte(0x0f);
  buf.byte(0x01);
  buf.byte(0xf9);
}

/** `rdtsc`: edx:eax = time-stamp counter. */
export function rdtsc(buf: CodeBuffer): void {
  buf.byte(0x0f);
  buf.byte(0x31);
}

/** `rdpid reg` (64-bit register): reg = IA32_TSC_AUX, without rdtscp's time-stamp read. */
export function rdpid(buf: CodeBuffer, reg: number): void {
  buf.byte(0xf3);
  if (reg > 7) buf.byte(0x41);
  buf.byte(0x0f);
  buf.byte(0xc7);
  buf.byte(0xc0 | (7 << 3) | (reg & 7));
}

/** `syscall`: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9; clobbers rcx and r11. */
export function syscallInsn(buf: CodeBuffer): void {
  buf.byte(0x0f);
  buf.byte(0x05);
}

/** `rep movsb`: copies rcx bytes from [rsi] to [rdi], advancing both. */
export function repMovsb(buf: CodeBuffer): void {
  buf.byte(0xf3);
  buf.byte(0xa4);
}

/** `rep stosb`: stores al into rcx bytes at [rdi]. */
export function repStosb(buf: CodeBuffer): void {
  buf.byte(0xf3);
  buf.byte(0xaa);
}

/**
 * `mov reg, fs:[disp32]` (width 32 or 64; a 32-bit load zero-extends): an absolute displacement from the
 * %fs base. fs:[0] is the thread pointer itself on x86-64 Linux (the TCB points to itself).
 */
export function movFromFs(buf: CodeBuffer, width: 32 | 64, reg: number, disp: number): void {
  buf.byte(0x64);
  const rex = (width === 64 ? 8 : 0) | (reg > 7 ? 4 : 0);
  if (rex) buf.byte(0x40 | rex);
  buf.byte(0x8b);
  buf.byte(0x04 | ((reg & 7) << 3)); // mod 00, rm 100: a SIB byte follows
  buf.byte(0x25); // SIB: no index, no base -> disp32
  buf.u32(disp);
}
