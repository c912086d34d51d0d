// The main thread calls pthread_exit while a worker keeps running: the leader stays a zombie until the worker
// ends, and /proc/PID/{maps,mem,auxv} of a zombie leader have no address space behind them.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *worker(void *arg) {
  (void)arg;
  char buffer[64];
  while (read(0, buffer, sizeof buffer) > 0) {
  }
  printf("worker done\n");
  fflush(stdout);
  return NULL;
}

int main(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, worker, NULL);
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  pthread_exit(NULL);
}
