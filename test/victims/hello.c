// Spawn victim: prints from a constructor of the executable and from main, so a test can tell that neither
// ran before the injector let the process go.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void early(void) {
  write(1, "constructor\n", 12);
}

int main(int argc, char **argv) {
  const char *value = getenv("VICTIM_VALUE");
  printf("main argc=%d arg1=%s env=%s\n", argc, argc > 1 ? argv[1] : "-", value ? value : "-");
  return 3;
}
