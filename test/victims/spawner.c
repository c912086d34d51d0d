// Creates threads without pause (each of which may create one more) until end of input, so an attach
// always races with thread creation. Prints how many were created.
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_int stop_flag;
static atomic_long finished;

static void *leaf(void *arg) {
  (void)arg;
  atomic_fetch_add(&finished, 1);
  return NULL;
}

static void *parent(void *arg) {
  (void)arg;
  pthread_t child;
  if (pthread_create(&child, NULL, leaf, NULL) == 0) pthread_detach(child);
  atomic_fetch_add(&finished, 1);
  return NULL;
}

static void *reader(void *arg) {
  (void)arg;
  char buffer[64];
  while (read(0, buffer, sizeof buffer) > 0) {
  }
  atomic_store(&stop_flag, 1);
  return NULL;
}

int main(void) {
  pthread_t input;
  pthread_create(&input, NULL, reader, NULL);
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  long created = 0;
  while (!atomic_load(&stop_flag)) {
    // Keep the number of live threads bounded: creation outpacing exit would exhaust memory.
    if (created - atomic_load(&finished) > 64) {
      usleep(100);
      continue;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, parent, NULL) == 0) {
      pthread_detach(thread);
      created++;
    }
  }
  pthread_join(input, NULL);
  printf("created %ld\n", created);
  return 0;
}
