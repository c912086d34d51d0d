// Eight threads calling hot_function (libvictim.so), and a check of every result.
//
//   hot-calls spin    8 threads call it in tight loops until standard input ends.
//   hot-calls burst   for each input line "run K", 8 new threads call it K times each, then "burst K calls C".
//
// At start it prints "counters 0x..." (the array of per-thread slots, { long calls; long mismatches; long
// tid; } padded to 64 bytes) and, in spin mode, "worker I tid T" per thread, then "ready". At the end:
// "calls C", "mismatches M", "result ok" or "result BAD".
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define THREADS 8

long hot_function(long x, long *calls);

struct slot {
  long calls;
  long mismatches;
  long tid;
  long limit; /* calls to make in a burst; < 0: until stopped */
  char pad[32];
};

static struct slot slots[THREADS] __attribute__((aligned(64)));
static atomic_int stop_flag;
static atomic_int started;

static void *worker(void *arg) {
  struct slot *slot = arg;
  long (*volatile call)(long, long *) = hot_function;
  slot->tid = gettid();
  atomic_fetch_add(&started, 1);
  for (long i = 0; slot->limit < 0 ? !atomic_load_explicit(&stop_flag, memory_order_relaxed) : i < slot->limit; i++) {
    if (call(i, &slot->calls) != i * 3 + 1) slot->mismatches++;
  }
  return NULL;
}

static void start_threads(pthread_t *threads, long limit) {
  for (int i = 0; i < THREADS; i++) {
    slots[i].limit = limit;
    pthread_create(&threads[i], NULL, worker, &slots[i]);
  }
}

static void join_threads(pthread_t *threads) {
  for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
}

static long total(int field) {
  long sum = 0;
  for (int i = 0; i < THREADS; i++) sum += field == 0 ? slots[i].calls : slots[i].mismatches;
  return sum;
}

int main(int argc, char **argv) {
  int burst = argc > 1 && strcmp(argv[1], "burst") == 0;
  pthread_t threads[THREADS];
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("counters 0x%lx\n", (unsigned long)slots);
  if (!burst) {
    start_threads(threads, -1);
    while (atomic_load(&started) < THREADS) usleep(1000);
    for (int i = 0; i < THREADS; i++) printf("worker %d tid %ld\n", i, slots[i].tid);
  }
  printf("ready\n");
  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    long k;
    if (!burst || sscanf(line, "run %ld", &k) != 1) continue;
    long before = total(0);
    start_threads(threads, k);
    join_threads(threads);
    printf("burst %ld calls %ld\n", k, total(0) - before);
  }
  if (!burst) {
    atomic_store(&stop_flag, 1);
    join_threads(threads);
  }
  printf("calls %ld\nmismatches %ld\nresult %s\n", total(0), total(1), total(1) == 0 ? "ok" : "BAD");
  return 0;
}
