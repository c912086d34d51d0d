// A one-thread victim for pause measurements: counts in a loop, stops at end of input, checks its count.
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>

int main(void) {
  fcntl(0, F_SETFL, O_NONBLOCK);
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  uint64_t n = 0, sum = 0;
  char byte;
  for (;;) {
    n++;
    sum += n;
    // A system call now and then, so attaches catch the thread both in user code and in the kernel.
    if ((n & 0xfffff) == 0 && read(0, &byte, 1) == 0) break;
  }
  int ok = sum == (uint64_t)((unsigned __int128)n * (n + 1) / 2);
  printf("iterations %llu %s\n", (unsigned long long)n, ok ? "ok" : "BAD");
  return !ok;
}
