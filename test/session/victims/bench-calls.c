// The uprobe benchmark's victim: calls one of two functions N times through a volatile pointer and prints
// the nanoseconds the loop took, measured here with clock_gettime: for each input line "push N TAG" or
// "step N TAG" it prints "TAG ns T ok 1" (ok 0: a call returned a wrong result).
//   push_target   starts with push %rbp, an instruction the kernel's uprobes emulate
//   step_target   starts with lea, which the kernel must single-step out of line
// Both are written in assembly so the compiler cannot change their first instructions (no endbr64 either).
#include <stdio.h>
#include <string.h>
#include <time.h>

__asm__(
    "  .text\n"
    "  .globl push_target\n"
    "  .type push_target, @function\n"
    "push_target:\n"
    "  push %rbp\n"
    "  mov %rsp, %rbp\n"
    "  lea 1(%rdi,%rdi,2), %rax\n"
    "  pop %rbp\n"
    "  ret\n"
    "  .size push_target, .-push_target\n"
    "  .globl step_target\n"
    "  .type step_target, @function\n"
    "step_target:\n"
    "  lea 1(%rdi,%rdi,2), %rax\n"
    "  add $0, %rax\n"
    "  ret\n"
    "  .size step_target, .-step_target\n");

long push_target(long x);
long step_target(long x);

static long elapsed_ns(const struct timespec *a, const struct timespec *b) {
  return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

int main(void) {
  char line[80], which[16], tag[24];
  long n;
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready\n");
  while (fgets(line, sizeof line, stdin)) {
    if (sscanf(line, "%15s %ld %23s", which, &n, tag) != 3) continue;
    long (*volatile call)(long) = strcmp(which, "push") == 0 ? push_target : step_target;
    long sum = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) sum += call(i);
    clock_gettime(CLOCK_MONOTONIC, &b);
    /* sum = 3 * n(n-1)/2 + n: a hook that disturbed a call shows here */
    printf("%s ns %ld ok %d\n", tag, elapsed_ns(&a, &b), sum == 3 * (n * (n - 1) / 2) + n);
  }
  return 0;
}
