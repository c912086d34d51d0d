// Calls hot_function (libvictim.so) with 5..8 and prints each result and whether the function ran.
#include <stdio.h>

long hot_function(long x, long *calls);

int main(void) {
  for (long x = 5; x <= 8; x++) {
    long calls = 0;
    long result = hot_function(x, &calls);
    printf("%ld -> %ld ran %ld\n", x, result, calls);
  }
  return 0;
}
