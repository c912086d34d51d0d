// Symbol victim: prints the addresses its own code sees for functions of the executable and of libc, then
// waits for end of input. A test resolves the same names from outside and compares.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) int victim_function(int x) {
  return x * 3 + 1;
}

__attribute__((noinline)) static int local_function(int x) {
  return x ^ 0x55;
}

int main(void) {
  int (*volatile local)(int) = local_function;
  printf("victim_function %p\n", (void *)victim_function);
  printf("local_function %p\n", (void *)local);
  printf("malloc %p\n", dlsym(RTLD_DEFAULT, "malloc"));
  printf("strlen %p\n", dlsym(RTLD_DEFAULT, "strlen"));
  printf("memcpy %p\n", dlsym(RTLD_DEFAULT, "memcpy"));
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  char buffer[64];
  while (read(0, buffer, sizeof buffer) > 0) {
  }
  return local(victim_function(1)) == (4 ^ 0x55) ? 0 : 1;
}
