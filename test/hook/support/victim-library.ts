// A small C shared library built at test time, whose functions the in-process hook tests patch. The C part
// is compiled with -fcf-protection so its functions start with endbr64; the assembly part has hand-made
// prologues (a short jcc, a call, a RIP-relative load, a get-PC call, a probe inside the body, a loop back
// into the first bytes, a one-byte function) with exact sizes for the relocator.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ElfFile, STT_FUNC } from "../../../src/elf/index.js";

const C_SOURCE = String.raw`
#include <pthread.h>
#include <setjmp.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOOKABLE __attribute__((noipa))

HOOKABLE long add2(long a, long b) { return a + b; }
HOOKABLE long sum6(long a, long b, long c, long d, long e, long f) { return a + 2*b + 3*c + 4*d + 5*e + 6*f; }
HOOKABLE double mix8(double a, double b, double c, double d, double e, double f, double g, double h) {
  return a + 2*b + 3*c + 4*d + 5*e + 6*f + 7*g + 8*h;
}
HOOKABLE double half(double x) { return x / 2; }

long fib_calls;
long fib_return_sum;
HOOKABLE long fib(long n) {
  __atomic_add_fetch(&fib_calls, 1, __ATOMIC_RELAXED);
  long r = n < 2 ? n : fib(n - 1) + fib(n - 2);
  fib_return_sum += r;
  return r;
}
void fib_reset(void) { fib_calls = 0; fib_return_sum = 0; }
long fib_get_calls(void) { return fib_calls; }
long fib_get_return_sum(void) { return fib_return_sum; }

HOOKABLE long counted(long x) { return x * 3 + 1; }

struct worker { long iterations; long sum; };
static void *worker_main(void *arg) {
  struct worker *w = arg;
  long (*volatile fn)(long) = counted;
  for (long i = 0; i < w->iterations; i++) w->sum += fn(i);
  return 0;
}
/* Runs count threads each calling counted() iterations times; returns the sum of all results. */
long run_threads(int count, long iterations) {
  pthread_t threads[64];
  struct worker workers[64];
  if (count > 64) return -1;
  for (int i = 0; i < count; i++) {
    workers[i].iterations = iterations;
    workers[i].sum = 0;
    if (pthread_create(&threads[i], 0, worker_main, &workers[i]) != 0) return -2;
  }
  long total = 0;
  for (int i = 0; i < count; i++) { pthread_join(threads[i], 0); total += workers[i].sum; }
  return total;
}

static jmp_buf thrown;
/* Recurses n levels, then longjmps out of all of them. */
HOOKABLE long thrower(long n) {
  if (n == 0) longjmp(thrown, 1);
  return thrower(n - 1) + 1;
}
/* Returns 77 after thrower(n) longjmps back here, abandoning n + 1 thrower frames. */
HOOKABLE long catcher(long n) {
  if (setjmp(thrown)) return 77;
  thrower(n);
  return 0;
}

/* Forks: the child returns x + 1000 from here, the parent x + the child's exit status. */
HOOKABLE long forked_value(long x) {
  pid_t pid = fork();
  if (pid == 0) return x + 1000;
  int status = 0;
  waitpid(pid, &status, 0);
  return x + (WIFEXITED(status) ? WEXITSTATUS(status) : 99);
}
/* The child exits with 42 when forked_value returned what it should in the child. */
long fork_test(long x) {
  pid_t self = getpid();
  long r = forked_value(x);
  if (getpid() != self) _exit(r == x + 1000 ? 42 : 1);
  return r;
}

HOOKABLE long bench_target(long x) { return x ^ 0x5a; }
long bench_sink;
/* Calls bench_target n times through a volatile pointer; returns the elapsed nanoseconds. */
long bench_loop(long n) {
  long (*volatile fn)(long) = bench_target;
  struct timespec a, b;
  long acc = 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) acc += fn(i);
  clock_gettime(CLOCK_MONOTONIC, &b);
  bench_sink = acc;
  return (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
}
`;

const ASM_SOURCE = String.raw`
  .intel_syntax noprefix
  .text

  .globl asm_jcc_prologue
  .type asm_jcc_prologue, @function
asm_jcc_prologue:          # x == 0 ? 100 : x + 1; the je is inside the first 5 bytes
  test rdi, rdi
  je 1f
  lea rax, [rdi + 1]
  ret
1:
  mov eax, 100
  ret
  .size asm_jcc_prologue, .-asm_jcc_prologue

  .type asm_double, @function
asm_double:
  lea rax, [rdi + rdi]
  ret
  .size asm_double, .-asm_double

  .globl asm_call_prologue
  .type asm_call_prologue, @function
asm_call_prologue:         # 3 * x, through a call that ends the displaced instructions
  push rbx
  mov rbx, rdi
  call asm_double
  add rax, rbx
  pop rbx
  ret
  .size asm_call_prologue, .-asm_call_prologue

  .globl asm_rip_prologue
  .type asm_rip_prologue, @function
asm_rip_prologue:          # x + asm_rip_value, with a RIP-relative load first
  mov rax, qword ptr [rip + asm_rip_value]
  add rax, rdi
  ret
  .size asm_rip_prologue, .-asm_rip_prologue

  .globl asm_getpc
  .type asm_getpc, @function
asm_getpc:                 # returns asm_getpc + 5, read by a call to the next instruction
  call 1f
1:
  pop rax
  ret
  .size asm_getpc, .-asm_getpc

  .globl asm_offset_probe
  .type asm_offset_probe, @function
asm_offset_probe:          # (a < b) + a + 7, with a in the red zone and the flags live at +8
  mov qword ptr [rsp - 8], rdi
  cmp rdi, rsi
  mov ecx, 7
  setb al
  movzx eax, al
  add rax, qword ptr [rsp - 8]
  add rax, rcx
  ret
  .size asm_offset_probe, .-asm_offset_probe

  .globl asm_branch_into
  .type asm_branch_into, @function
asm_branch_into:           # sum of 1..x, looping back to +2
  xor eax, eax
1:
  add rax, rdi
  dec rdi
  jnz 1b
  ret
  .size asm_branch_into, .-asm_branch_into

  .globl asm_too_short
  .type asm_too_short, @function
asm_too_short:
  ret
  .size asm_too_short, .-asm_too_short

  .globl asm_jmp_only
  .type asm_jmp_only, @function
asm_jmp_only:              # a tail call: 2 * x
  .byte 0xe9
  .long asm_double - . - 4
  .size asm_jmp_only, .-asm_jmp_only

  .data
asm_rip_value:
  .quad 1000
  .section .note.GNU-stack,"",@progbits
`;

export interface VictimSymbol {
  readonly name: string;
  /** Offset of the symbol in the file's address space (add the load base). */
  readonly value: number;
  readonly size: number;
}

export interface VictimLibrary {
  readonly path: string;
  readonly symbols: ReadonlyMap<string, VictimSymbol>;
  remove(): void;
}

export function gccAvailable(): boolean {
  return spawnSync("gcc", ["--version"], { stdio: "ignore" }).status === 0;
}

export function buildVictimLibrary(): VictimLibrary {
  const dir = mkdtempSync(join(tmpdir(), "bpftime-hook-"));
  const cPath = join(dir, "victim.c");
  const asmPath = join(dir, "victim-asm.s");
  const path = join(dir, "libvictim.so");
  writeFileSync(cPath, C_SOURCE);
  writeFileSync(asmPath, ASM_SOURCE);
  const result = spawnSync("gcc", ["-O2", "-fPIC", "-shared", "-pthread", "-fcf-protection=full", "-o", path, cPath, asmPath], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`gcc failed: ${result.stderr}`);
  const elf = ElfFile.parse(new Uint8Array(readFileSync(path)));
  const symbols = new Map<string, VictimSymbol>();
  for (const symbol of elf.symbols()) {
    if (symbol.type === STT_FUNC && symbol.size > 0) symbols.set(symbol.name, { name: symbol.name, value: symbol.value, size: symbol.size });
  }
  return { path, symbols, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
