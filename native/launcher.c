/* tend-launcher: runs before Node to record what Node's start-up would overwrite, then execs Node.
 *
 * Node raises its soft RLIMIT_NOFILE to the hard limit before any JS runs, and resets every ignored signal to SIG_DFL
 * and the signal mask to empty, so tend cannot see the limits and signal state it was started with. This program
 * exports them (and its exec time) in the environment and replaces itself with
 *   node <entry.js> [args...]
 * using $TEND_NODE if set, else `node` from PATH. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Appends "N=SOFT:HARD" with inf for RLIM_INFINITY; returns the new length. */
static size_t append_limit(char *buf, size_t len, size_t size, int resource, const struct rlimit *lim) {
  char soft[24], hard[24];
  if (lim->rlim_cur == RLIM_INFINITY) strcpy(soft, "inf");
  else snprintf(soft, sizeof soft, "%llu", (unsigned long long)lim->rlim_cur);
  if (lim->rlim_max == RLIM_INFINITY) strcpy(hard, "inf");
  else snprintf(hard, sizeof hard, "%llu", (unsigned long long)lim->rlim_max);
  int n = snprintf(buf + len, size - len, "%s%d=%s:%s", len > 0 ? "," : "", resource, soft, hard);
  return n > 0 && (size_t)n < size - len ? len + (size_t)n : len;
}

/* Appends ",N" (or "N" first) to a list; returns the new length. */
static size_t append_signal(char *buf, size_t len, size_t size, bool first, int sig) {
  int n = snprintf(buf + len, size - len, "%s%d", first ? "" : ",", sig);
  return n > 0 && (size_t)n < size - len ? len + (size_t)n : len;
}

/* Writes "ignore=1,13;block=10": the signals whose disposition is SIG_IGN and the blocked mask, as exec left them. */
static void record_signals(char *buf, size_t size) {
  sigset_t blocked;
  sigemptyset(&blocked);
  sigprocmask(SIG_BLOCK, NULL, &blocked);
  size_t len = (size_t)snprintf(buf, size, "ignore=");
  bool first = true;
  for (int sig = 1; sig <= SIGRTMAX; sig++) {
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN) {
      len = append_signal(buf, len, size, first, sig);
      first = false;
    }
  }
  int n = snprintf(buf + len, size - len, ";block=");
  if (n > 0 && (size_t)n < size - len) len += (size_t)n;
  first = true;
  for (int sig = 1; sig <= SIGRTMAX; sig++) {
    if (sigismember(&blocked, sig) == 1) {
      len = append_signal(buf, len, size, first, sig);
      first = false;
    }
  }
}

/* tend-launcher <entry.js> [args...]: record start-up state, then become `node <entry.js> [args...]`. */
int main(int argc, char **argv) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);

  if (argc < 2) {
    fputs("usage: tend-launcher <entry.js> [args...]\n", stderr);
    return 64;
  }

  /* Room for every resource with two 20-digit values. */
  char limits[RLIM_NLIMITS * 48];
  size_t len = 0;
  limits[0] = '\0';
  for (int resource = 0; resource < RLIM_NLIMITS; resource++) {
    struct rlimit lim;
    if (getrlimit(resource, &lim) == 0) len = append_limit(limits, len, sizeof limits, resource, &lim);
  }

  /* Two lists of at most 64 two-digit numbers with commas. */
  char signals[2 * 64 * 3 + 32];
  record_signals(signals, sizeof signals);

  char started[24];
  snprintf(started, sizeof started, "%llu",
           (unsigned long long)start.tv_sec * 1000000000ULL + (unsigned long long)start.tv_nsec);

  if (setenv("TEND_INHERITED_RLIMITS", limits, 1) != 0 || setenv("TEND_INHERITED_SIGNALS", signals, 1) != 0 ||
      setenv("TEND_EXEC_MONOTONIC_NS", started, 1) != 0) {
    fprintf(stderr, "tend: unable to set environment: %s\n", strerror(errno));
    return 127;
  }

  const char *node = getenv("TEND_NODE");
  if (node == NULL || node[0] == '\0') node = "node";
  argv[0] = (char *)node; /* argv[1..] (entry.js and its arguments) pass through unchanged */
  execvp(node, argv);
  fprintf(stderr, "tend: unable to exec node: %s\n", strerror(errno));
  return 127;
}
