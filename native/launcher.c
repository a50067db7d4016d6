/* tend-launcher: runs before Node to record what Node's start-up would overwrite, then execs Node.
 *
 * Node raises its soft RLIMIT_NOFILE to the hard limit before any JS runs, and resets every ignored signal to SIG_DFL
 * and the signal mask to empty, so tend cannot see the limits and signal state it was started with. This program
 * exports them (and its exec time, and the addon the loader is to load: TEND_ADDON) in the environment and replaces
 * itself with
 *   node <entry.js> [args...]
 * using $TEND_NODE if set, else `node` from PATH.
 *
 * Installed as a package's bin/tend (scripts/install.js copies the prebuilt that fits over the script there), it is
 * the command itself: it finds <package>/dist/bundle/entry.cjs from its own path and runs
 *   node <entry.cjs> [args...]
 * as the script would, without a shell, a readlink and a uname before Node (~3 ms). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

/* The kernel's struct sigaction on x86-64 and arm64 (both have sa_restorer); only the handler and flags are read. */
struct kernel_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  unsigned long mask;
};

#define KERNEL_NSIG 64

/* Writes "ignore=1,13;block=10": the signals whose disposition is SIG_IGN and the blocked mask, as exec left them.
 * Asked of the kernel itself: the C libraries hide the signals they reserve for themselves from sigaction and
 * sigprocmask (glibc 32-33, musl 32-34), and the static launcher, linked with musl, runs on glibc systems too, where
 * 34 is an ordinary real-time signal. */
static void record_signals(char *buf, size_t size) {
  unsigned long blocked = 0;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &blocked, sizeof blocked);
  size_t len = (size_t)snprintf(buf, size, "ignore=");
  bool first = true;
  for (int sig = 1; sig <= KERNEL_NSIG; sig++) {
    struct kernel_sigaction sa;
    if (syscall(SYS_rt_sigaction, sig, NULL, &sa, sizeof blocked) == 0 && !(sa.flags & SA_SIGINFO) &&
        sa.handler == (void *)SIG_IGN) {
      len = append_signal(buf, len, size, first, sig);
      first = false;
    }
  }
  int n = snprintf(buf + len, size - len, ";block=");
  if (n > 0 && (size_t)n < size - len) len += (size_t)n;
  first = true;
  for (int sig = 1; sig <= KERNEL_NSIG; sig++) {
    if (blocked & (1UL << (sig - 1))) {
      len = append_signal(buf, len, size, first, sig);
      first = false;
    }
  }
}

/* When this file is <package>/bin/tend (its real path, symlinks resolved, as npm's node_modules/.bin links to it):
 * that package's dist/bundle/entry.cjs, in `entry`; else false (run as tend-launcher). */
static bool installed_entry(char *entry, size_t size) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return false;
  exe[n] = '\0';
  char *name = strrchr(exe, '/');
  if (name == NULL || strcmp(name + 1, "tend") != 0) return false;
  *name = '\0';
  char *dir = strrchr(exe, '/');
  if (dir == NULL || strcmp(dir + 1, "bin") != 0) return false;
  *dir = '\0';
  int len = snprintf(entry, size, "%s/dist/bundle/entry.cjs", exe);
  return len > 0 && (size_t)len < size;
}

#if defined(__x86_64__)
#define TEND_ARCH "x64"
#define GLIBC_LOADER "/lib64/ld-linux-x86-64.so.2"
#elif defined(__aarch64__)
#define TEND_ARCH "arm64"
#define GLIBC_LOADER "/lib/ld-linux-aarch64.so.1"
#endif

static const char ENTRY_SUFFIX[] = "/dist/bundle/entry.cjs";

/* Whether `entry` is a tend package's CLI (<root>/dist/bundle/entry.cjs). */
static bool is_tend_entry(const char *entry) {
  size_t len = strlen(entry);
  return len >= sizeof ENTRY_SUFFIX && strcmp(entry + len - (sizeof ENTRY_SUFFIX - 1), ENTRY_SUFFIX) == 0;
}

/* The addon the start-up loader would pick for the package whose CLI is `entry` (<root>/dist/bundle/entry.cjs), by
 * the rule of addonCandidates in src/os/native-loader.ts: the local build, else this machine's prebuilt, else the
 * other C library's; false when none exists. Two or three stat calls here spare the loader its search in
 * JavaScript (~0.2 ms of a start); it still searches when this one does not load. */
static bool addon_for(const char *entry, char *addon, size_t size) {
  if (!is_tend_entry(entry)) return false;
  int root = (int)(strlen(entry) - (sizeof ENTRY_SUFFIX - 1));
  int n = snprintf(addon, size, "%.*s/build/Release/tend_native.node", root, entry);
  if (n > 0 && (size_t)n < size && access(addon, R_OK) == 0) return true;
#ifdef TEND_ARCH
  const char *libc = access(GLIBC_LOADER, F_OK) == 0 ? "glibc" : "musl";
  for (int i = 0; i < 2; i++) {
    n = snprintf(addon, size, "%.*s/prebuilds/linux-" TEND_ARCH "/tend_native.napi.%s.node", root, entry, libc);
    if (n > 0 && (size_t)n < size && access(addon, R_OK) == 0) return true;
    libc = strcmp(libc, "glibc") == 0 ? "musl" : "glibc";
  }
#endif
  return false;
}

/* Exit 70 when an installed launcher finds no CLI next to it (a copy of bin/tend outside its package). */
static void require_entry(const char *entry) {
  if (access(entry, R_OK) == 0) return;
  fprintf(stderr, "tend: %s: %s; run tend from its package (node_modules/.bin/tend), or reinstall it (npm install)\n", entry,
          strerror(errno));
  exit(70);
}

/* tend-launcher <entry.js> [args...]: record start-up state, then become `node <entry.js> [args...]`. */
int main(int argc, char **argv) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);

  char entry[PATH_MAX];
  bool installed = installed_entry(entry, sizeof entry);
  if (installed) require_entry(entry);
  if (!installed && argc < 2) {
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
  /* The addon for the CLI about to run (installed: ours; else argv[1], as bin/tend passes it). */
  char addon[PATH_MAX];
  char absolute[PATH_MAX];
  if (addon_for(installed ? entry : argv[1], addon, sizeof addon) && realpath(addon, absolute) != NULL) setenv("TEND_ADDON", absolute, 1);
  else unsetenv("TEND_ADDON");

  const char *node = getenv("TEND_NODE");
  if (node == NULL || node[0] == '\0') node = "node";
  /* node [--preserve-symlinks-main] <entry> <arguments>: installed, the arguments are argv[1..]; as tend-launcher,
   * argv[1] is the entry and argv[2..] its arguments, which otherwise pass through unchanged. No V8 flag: a flag can
   * change V8's flag hash (--no-maglev does on Node 24), and V8 then rejects Node's own code cache and compiles each
   * built-in module tend loads from source. --preserve-symlinks-main is Node's own option, and given tend's entry by
   * its real path (realpath here: a few system calls) it changes nothing but this: Node does not work out that path
   * again in JavaScript (fs.realpathSync, an lstat per component and its first compile: ~0.5-0.8 ms on Node 20). */
  const char *script = installed ? entry : argv[1];
  char real[PATH_MAX];
  bool preserve = is_tend_entry(script) && realpath(script, real) != NULL;
  char **args = calloc((size_t)argc + 3, sizeof *args);
  if (args == NULL) {
    fputs("tend: out of memory\n", stderr);
    return 127;
  }
  int n = 0;
  args[n++] = (char *)node;
  if (preserve) args[n++] = "--preserve-symlinks-main";
  args[n++] = preserve ? real : (char *)script;
  for (int i = installed ? 1 : 2; i < argc; i++) args[n++] = argv[i];
  execvp(node, args);
  fprintf(stderr, "tend: unable to exec node: %s\n", strerror(errno));
  return 127;
}
