// Counts SIGUSR1 deliveries while it waits for input; at end of input prints the count.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t received;

static void on_usr1(int signal) {
  (void)signal;
  received++;
}

int main(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_usr1;
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &action, NULL);
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  char buffer[64];
  while (read(0, buffer, sizeof buffer) > 0) {
  }
  printf("usr1 %d\n", (int)received);
  return 0;
}
