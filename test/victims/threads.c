// Attach/detach victim: 8 worker threads whose results show whether anything we did disturbed them.
//   5 busy threads count loop iterations in registers (integer sums with closed forms, and a double);
//   2 threads sleep in nanosleep, which must never fail with EINTR;
//   1 thread blocks in read(0) and counts the bytes until end of input, then everything stops.
// main prints "ready" once the threads run, and at the end one line per check and "result ok" or "result BAD".
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUSY 5
#define SLEEPERS 2

static atomic_int stop_flag;
static uint64_t busy_count[BUSY], busy_sum[BUSY], busy_squares[BUSY];
static double busy_double[BUSY];
static uint64_t sleep_count[SLEEPERS];
static int sleep_errors;
static uint64_t bytes_read, byte_sum;
static int read_errors;

static void *busy(void *arg) {
  int index = (int)(intptr_t)arg;
  uint64_t n = 0, sum = 0, squares = 0;
  double d = 0;
  while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
    n++;
    sum += n;
    squares += n * n;
    d += 1.0;
  }
  busy_count[index] = n;
  busy_sum[index] = sum;
  busy_squares[index] = squares;
  busy_double[index] = d;
  return NULL;
}

static void *sleeper(void *arg) {
  int index = (int)(intptr_t)arg;
  while (!atomic_load(&stop_flag)) {
    struct timespec ts = {0, 1000000};
    if (nanosleep(&ts, NULL) != 0) __atomic_add_fetch(&sleep_errors, 1, __ATOMIC_RELAXED);
    sleep_count[index]++;
  }
  return NULL;
}

static void *reader(void *arg) {
  (void)arg;
  unsigned char buffer[4096];
  for (;;) {
    ssize_t got = read(0, buffer, sizeof buffer);
    if (got < 0) {
      read_errors++;
      if (errno == EINTR) continue;
      break;
    }
    if (got == 0) break;
    bytes_read += (uint64_t)got;
    for (ssize_t i = 0; i < got; i++) byte_sum += buffer[i];
  }
  atomic_store(&stop_flag, 1);
  return NULL;
}

int main(void) {
  pthread_t threads[BUSY + SLEEPERS + 1];
  int t = 0;
  for (int i = 0; i < BUSY; i++) pthread_create(&threads[t++], NULL, busy, (void *)(intptr_t)i);
  for (int i = 0; i < SLEEPERS; i++) pthread_create(&threads[t++], NULL, sleeper, (void *)(intptr_t)i);
  pthread_create(&threads[t++], NULL, reader, NULL);
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  for (int i = 0; i < t; i++) pthread_join(threads[i], NULL);

  int bad = 0;
  for (int i = 0; i < BUSY; i++) {
    unsigned __int128 n = busy_count[i];
    uint64_t sum = (uint64_t)(n * (n + 1) / 2);
    uint64_t squares = (uint64_t)(n * (n + 1) * (2 * n + 1) / 6);
    int ok = busy_sum[i] == sum && busy_squares[i] == squares && busy_double[i] == (double)busy_count[i];
    bad |= !ok;
    printf("busy %d iterations %llu %s\n", i, (unsigned long long)busy_count[i], ok ? "ok" : "BAD");
  }
  for (int i = 0; i < SLEEPERS; i++) printf("sleeper %d sleeps %llu\n", i, (unsigned long long)sleep_count[i]);
  printf("sleep errors %d\n", sleep_errors);
  printf("read bytes %llu sum %llu errors %d\n", (unsigned long long)bytes_read, (unsigned long long)byte_sum, read_errors);
  bad |= sleep_errors != 0 || read_errors != 0;
  printf("result %s\n", bad ? "BAD" : "ok");
  return bad;
}
