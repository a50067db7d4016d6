/* spawn = clone(CLONE_VM|CLONE_VFORK) + exec, as posix_spawn does it, with the child's process group, terminal, limits,
 * identity, parent-death signal, cwd and fds set up in between, and the signal dispositions and mask that exec would
 * have passed on. The child shares tend's memory until it execs (tend's thread waits meanwhile): a fork would copy
 * the page tables of a ~40 MB Node process first (~1-3 ms per spawn). So the child writes to nothing the parent
 * owns, except the one envp slot for LISTEN_PID, which the parent puts back, and calls the kernel directly
 * for its identity (see SYS_SET_UID). */
#include "args.h"
#include "errors.h"
#include "rlimit.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Child set-up steps that can fail, in order; the names become the error's `syscall`. (tcsetpgrp is not one: a
 * failure to take the terminal is ignored.) */
enum step { STEP_SETPGID, STEP_SETRLIMIT, STEP_SETGROUPS, STEP_SETGID, STEP_SETUID, STEP_PRCTL, STEP_CHDIR, STEP_DUP2, STEP_EXECVE };
static const char *const step_names[] = { "setpgid", "setrlimit", "setgroups", "setgid", "setuid", "prctl", "chdir", "dup2", "execve" };

/* What a failing child writes to the report pipe before _exit(127); small enough to be written atomically. */
struct failure {
  int32_t step;
  int32_t index; /* rlimit resource for STEP_SETRLIMIT */
  int32_t err;
};

struct limit {
  int resource;
  struct rlimit value;
};

/* Everything the child needs, converted from JS before fork so the child never allocates. */
struct request {
  char *file;
  char **argv;
  char **envp;
  char **candidates; /* paths to try with execve, in order (the PATH search is precomputed) */
  char *cwd;         /* NULL = keep */
  bool new_group;
  int tty_fd;        /* -1 = leave the terminal alone */
  struct limit *limits;
  size_t nlimits;
  int64_t uid, gid;  /* -1 = keep */
  bool set_groups;
  gid_t *groups;
  size_t ngroups;
  int *fds;          /* child fd i := fds[i]; -1 closes slot i */
  size_t nfds;
  sigset_t ignored;  /* dispositions set to SIG_IGN; every other one becomes SIG_DFL */
  sigset_t blocked;  /* the child's signal mask at exec */
  int death_signal;  /* PR_SET_PDEATHSIG, 0 = none */
  pid_t parent;      /* our pid at fork, to detect that we died before PR_SET_PDEATHSIG took hold */
};

/* ---- child side: async-signal-safe calls only ---- */

/* Reports a failed step to the parent and exits; the parent turns it into a NativeError. */
__attribute__((noreturn)) static void fail(int errfd, enum step step, int index, int err) {
  struct failure f = { step, index, err };
  ssize_t n;
  do n = write(errfd, &f, sizeof f);
  while (n < 0 && errno == EINTR);
  _exit(127);
}

/* Makes child fd i refer to fds[i]; returns the (possibly moved) report-pipe fd. */
static int map_fds(int *fds, int n, int errfd) {
  /* The report pipe must survive until execve, so keep it above every target slot. */
  if (errfd < n) {
    int moved = fcntl(errfd, F_DUPFD_CLOEXEC, n);
    if (moved < 0) fail(errfd, STEP_DUP2, 0, errno);
    errfd = moved;
  }
  /* A source inside the target range whose slot gets replaced is first copied above the range. */
  for (int i = 0; i < n; i++) {
    int src = fds[i];
    if (src >= 0 && src != i && src < n && fds[src] != src) {
      int moved = fcntl(src, F_DUPFD_CLOEXEC, n);
      if (moved < 0) fail(errfd, STEP_DUP2, 0, errno);
      fds[i] = moved;
    }
  }
  for (int i = 0; i < n; i++) {
    int src = fds[i];
    if (src == i) {
      int flags = fcntl(i, F_GETFD);
      if (flags < 0 || fcntl(i, F_SETFD, flags & ~FD_CLOEXEC) < 0) fail(errfd, STEP_DUP2, 0, errno);
    } else if (src >= 0) {
      if (dup2(src, i) < 0) fail(errfd, STEP_DUP2, 0, errno); /* dup2 clears CLOEXEC on the target */
    } else {
      close(i);
    }
  }
  return errfd;
}

/* Tries each candidate path like execvp: skips missing ones, remembers EACCES, stops at other errors. */
__attribute__((noreturn)) static void exec_candidates(const struct request *req, int errfd) {
  int err = ENOENT;
  bool saw_eacces = false;
  for (char **path = req->candidates; *path != NULL; path++) {
    execve(*path, req->argv, req->envp);
    err = errno;
    switch (err) {
      case EACCES:
        saw_eacces = true;
        break;
      case ENOENT:
      case ENOTDIR:
      case ESTALE:
      case ENODEV:
      case ETIMEDOUT:
        break;
      default:
        fail(errfd, STEP_EXECVE, 0, err);
    }
  }
  fail(errfd, STEP_EXECVE, 0, saw_eacces ? EACCES : err);
}

/* What the child gets besides the request: the report pipe and room for its LISTEN_PID entry (in the parent's
 * frame, which stays put while the parent waits for the exec). */
struct child_start {
  struct request *req;
  int report[2];
  int listen_pid_slot; /* index of the "LISTEN_PID=" placeholder in envp, -1 if none */
  char listen_pid[32];
};

/* The index of the "LISTEN_PID=" placeholder in envp, or -1. Found by the parent, before the child starts. */
static int listen_pid_slot(char **envp) {
  for (int i = 0; envp[i] != NULL; i++)
    if (strcmp(envp[i], "LISTEN_PID=") == 0) return i;
  return -1;
}

/* Fills the "LISTEN_PID=" placeholder with the child's own pid: socket activation needs the child's pid, which only
 * exists once it runs (systemd does the same). Writes only into `start`; the parent restores the envp slot. */
static void fill_listen_pid(struct child_start *start) {
  if (start->listen_pid_slot < 0) return;
  char digits[16];
  int n = 0;
  for (pid_t pid = getpid(); pid > 0 && n < (int)sizeof digits; pid /= 10) digits[n++] = (char)('0' + pid % 10);
  int at = (int)strlen("LISTEN_PID=");
  memcpy(start->listen_pid, "LISTEN_PID=", (size_t)at);
  while (n > 0) start->listen_pid[at++] = digits[--n];
  start->listen_pid[at] = '\0';
  start->req->envp[start->listen_pid_slot] = start->listen_pid;
}

/* The identity calls, straight to the kernel: libc's setuid/setgid/setgroups make every thread of the process take
 * the new identity (glibc's setxid broadcast, musl's __synccall), and this child still shares tend's memory, where
 * libc would find tend's own threads. The kernel calls change only the calling process, as POSIX asks of them.
 * 32-bit architectures name the calls with 32-bit ids *32. */
#ifdef SYS_setuid32
#define SYS_SET_GROUPS SYS_setgroups32
#define SYS_SET_GID SYS_setgid32
#define SYS_SET_UID SYS_setuid32
#else
#define SYS_SET_GROUPS SYS_setgroups
#define SYS_SET_GID SYS_setgid
#define SYS_SET_UID SYS_setuid
#endif

/* Gives every signal the disposition exec would have passed on: SIG_IGN where tend was started with it ignored,
 * SIG_DFL everywhere else (undoing Node's SIG_IGN for SIGPIPE/SIGXFSZ and every handler of tend's own). */
static void reset_dispositions(const sigset_t *ignored) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sa.sa_handler = sigismember(ignored, sig) == 1 ? SIG_IGN : SIG_DFL;
    sigaction(sig, &sa, NULL); /* EINVAL for libc-reserved signals is fine */
  }
}

/* Asks for `sig` when the forking thread dies, then closes the race: if the parent died before prctl took hold, the
 * kernel will never send it, so the child delivers it to itself (and exits regardless) instead of living on alone.
 * Must run after the identity change, which clears the setting. */
static void set_parent_death_signal(const struct request *req, int errfd) {
  if (req->death_signal <= 0) return;
  if (prctl(PR_SET_PDEATHSIG, (unsigned long)req->death_signal) != 0) fail(errfd, STEP_PRCTL, 0, errno);
  if (getppid() == req->parent) return;
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, req->death_signal);
  kill(getpid(), req->death_signal);
  sigprocmask(SIG_UNBLOCK, &only, NULL);
  _exit(128 + req->death_signal); /* the signal was ignored or only stops us: exit all the same */
}

/* Runs in the child with every signal blocked (the parent blocked them before clone), on its own stack. */
__attribute__((noreturn)) static void child(struct child_start *start) {
  struct request *req = start->req;
  int errfd = start->report[1];
  close(start->report[0]);
  fill_listen_pid(start);
  reset_dispositions(&req->ignored);

  if (req->new_group && setpgid(0, 0) != 0) fail(errfd, STEP_SETPGID, 0, errno);
  if (req->tty_fd >= 0) (void)tcsetpgrp(req->tty_fd, getpid()); /* non-fatal; works from a background group since SIGTTOU is blocked */
  for (size_t i = 0; i < req->nlimits; i++)
    if (setrlimit(req->limits[i].resource, &req->limits[i].value) != 0)
      fail(errfd, STEP_SETRLIMIT, req->limits[i].resource, errno);
  if (req->set_groups && syscall(SYS_SET_GROUPS, req->ngroups, req->groups) != 0) fail(errfd, STEP_SETGROUPS, 0, errno);
  if (req->gid >= 0 && syscall(SYS_SET_GID, (gid_t)req->gid) != 0) fail(errfd, STEP_SETGID, 0, errno);
  if (req->uid >= 0 && syscall(SYS_SET_UID, (uid_t)req->uid) != 0) fail(errfd, STEP_SETUID, 0, errno);
  set_parent_death_signal(req, errfd);
  if (req->cwd != NULL && chdir(req->cwd) != 0) fail(errfd, STEP_CHDIR, 0, errno);
  errfd = map_fds(req->fds, (int)req->nfds, errfd);

  sigprocmask(SIG_SETMASK, &req->blocked, NULL);
  exec_candidates(req, errfd);
}

static int child_main(void *start) {
  child(start);
}

/* The child's stack: what exec_candidates and the set-up calls need, with room to spare. */
#define CHILD_STACK_SIZE (256 * 1024)

/* ---- parent side ---- */

static void free_strings(char **strings) {
  if (strings == NULL) return;
  for (char **s = strings; *s != NULL; s++) free(*s);
  free(strings);
}

static void free_request(struct request *req) {
  free(req->file);
  free_strings(req->argv);
  free_strings(req->envp);
  free_strings(req->candidates);
  free(req->cwd);
  free(req->limits);
  free(req->groups);
  free(req->fds);
}

extern char **environ;

/* The length of an environment entry's name (up to its first '='), or 0 for an entry with no name or no '=', which
 * names no variable. */
static size_t name_length(const char *entry) {
  const char *eq = strchr(entry, '=');
  return eq == NULL ? 0 : (size_t)(eq - entry);
}

/* Whether `list` holds the name of `entry` (its first `len` bytes): as "NAME=VALUE" when `with_value`, else bare. */
static bool lists_name(char *const *list, const char *entry, size_t len, bool with_value) {
  for (; *list != NULL; list++)
    if ((*list)[0] == entry[0] && strncmp(*list, entry, len) == 0 && (*list)[len] == (with_value ? '=' : '\0')) return true;
  return false;
}

/* The envp of a child that inherits: this process's environment as exec would pass it on (environ, tend's
 * process.env), without the names in `unset` or `set`, and without a repeated name's later entries (getenv answers
 * the first), followed by `set`, whose strings it takes over. One pass in C where building it in JavaScript cost a
 * string, a property and a check per variable (~0.4 ms for the 70 an `npm run` passes). NULL when out of memory. */
static char **inherit_environ(char **set, char *const *unset) {
  size_t n = 0, nset = 0;
  for (char **e = environ; e != NULL && *e != NULL; e++) n++;
  while (set[nset] != NULL) nset++;
  char **envp = calloc(n + nset + 1, sizeof *envp);
  if (envp == NULL) return NULL;
  size_t k = 0;
  for (char **e = environ; e != NULL && *e != NULL; e++) {
    size_t len = name_length(*e);
    if (len == 0 || lists_name(unset, *e, len, false) || lists_name(set, *e, len, true) || lists_name(envp, *e, len, true)) continue;
    if ((envp[k++] = strdup(*e)) == NULL) {
      free_strings(envp);
      return NULL;
    }
  }
  memcpy(envp + k, set, nset * sizeof *set);
  free(set);
  return envp;
}

/* Copies a JS string array into a NULL-terminated C array; NULL with an exception thrown on failure. */
static char **get_strings(napi_env env, napi_value array) {
  uint32_t n;
  if (tend_get_length(env, array, &n) != 0) return NULL;
  char **strings = calloc((size_t)n + 1, sizeof *strings);
  if (strings == NULL) {
    tend_throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    if (napi_get_element(env, array, i, &item) != napi_ok) {
      tend_throw_napi(env);
      free_strings(strings);
      return NULL;
    }
    strings[i] = tend_get_string(env, item);
    if (strings[i] == NULL) {
      free_strings(strings);
      return NULL;
    }
  }
  return strings;
}

/* Copies a JS array of numbers into a malloc'd int array (gids and fds both fit: the TS side checked the ranges).
 * Returns NULL with an exception thrown on failure; an empty array still gets a non-NULL allocation. */
static unsigned *get_numbers(napi_env env, napi_value array, size_t *count) {
  uint32_t n;
  if (tend_get_length(env, array, &n) != 0) return NULL;
  unsigned *numbers = malloc(((size_t)n + 1) * sizeof *numbers);
  if (numbers == NULL) {
    tend_throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    int64_t value;
    if (napi_get_element(env, array, i, &item) != napi_ok || tend_get_i64(env, item, &value) != 0) {
      tend_throw_napi(env);
      free(numbers);
      return NULL;
    }
    numbers[i] = (unsigned)value; /* -1 (a closed fd slot) round-trips through the int cast below */
  }
  *count = n;
  return numbers;
}

static int get_limits(napi_env env, napi_value array, struct request *req) {
  uint32_t n;
  if (tend_get_length(env, array, &n) != 0) return -1;
  req->limits = calloc((size_t)n + 1, sizeof *req->limits);
  if (req->limits == NULL) {
    tend_throw_errno(env, ENOMEM, "malloc");
    return -1;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value item, resource, soft, hard;
    int32_t r;
    double s, h;
    if (napi_get_element(env, array, i, &item) != napi_ok) {
      tend_throw_napi(env);
      return -1;
    }
    if (tend_get_prop(env, item, "resource", &resource) != 0 || tend_get_i32(env, resource, &r) != 0 ||
        tend_get_prop(env, item, "soft", &soft) != 0 || tend_get_f64(env, soft, &s) != 0 ||
        tend_get_prop(env, item, "hard", &hard) != 0 || tend_get_f64(env, hard, &h) != 0)
      return -1;
    req->limits[i].resource = r;
    req->limits[i].value.rlim_cur = tend_rlim_from_number(s);
    req->limits[i].value.rlim_max = tend_rlim_from_number(h);
  }
  req->nlimits = n;
  return 0;
}

/* Precomputes the execve candidates: the file itself if it has a '/', else dir/file for each PATH entry
 * (an empty entry means the current directory, as in execvp). */
static int build_candidates(napi_env env, struct request *req, const char *search_path) {
  size_t file_len = strlen(req->file);
  size_t count = 1;
  if (strchr(req->file, '/') == NULL && file_len > 0)
    for (const char *p = search_path; *p != '\0'; p++) count += *p == ':';
  else
    search_path = NULL;

  req->candidates = calloc(count + 1, sizeof *req->candidates);
  if (req->candidates == NULL) goto nomem;
  if (search_path == NULL) {
    req->candidates[0] = strdup(req->file);
    if (req->candidates[0] == NULL) goto nomem;
    return 0;
  }
  const char *dir = search_path;
  for (size_t i = 0; i < count; i++) {
    const char *end = strchrnul(dir, ':');
    size_t dir_len = (size_t)(end - dir);
    char *path = malloc(dir_len + 1 + file_len + 1);
    if (path == NULL) goto nomem;
    memcpy(path, dir, dir_len);
    if (dir_len > 0) path[dir_len++] = '/';
    memcpy(path + dir_len, req->file, file_len + 1);
    req->candidates[i] = path;
    dir = *end == ':' ? end + 1 : end;
  }
  return 0;
nomem:
  tend_throw_errno(env, ENOMEM, "malloc");
  return -1;
}

/* Reads an optional array of signal numbers (1..64, checked by the TS side) into a set; absent means empty. */
static int get_signal_set(napi_env env, napi_value obj, const char *key, sigset_t *set) {
  napi_value v;
  sigemptyset(set);
  if (tend_get_prop(env, obj, key, &v) != 0) return -1;
  if (tend_is_nullish(env, v)) return 0;
  size_t n;
  unsigned *signals = get_numbers(env, v, &n);
  if (signals == NULL) return -1;
  for (size_t i = 0; i < n; i++) sigaddset(set, (int)signals[i]); /* EINVAL for libc-reserved signals: left out */
  free(signals);
  return 0;
}

/* Converts the JS request object; 0 on success, -1 with an exception thrown. */
static int parse_request(napi_env env, napi_value obj, struct request *req) {
  napi_value v;
  int32_t i32;
  char *search_path;

  if (tend_get_prop(env, obj, "file", &v) != 0 || (req->file = tend_get_string(env, v)) == NULL) return -1;
  if (tend_get_prop(env, obj, "args", &v) != 0 || (req->argv = get_strings(env, v)) == NULL) return -1;
  if (tend_get_prop(env, obj, "env", &v) != 0 || (req->envp = get_strings(env, v)) == NULL) return -1;
  bool inherit = false;
  if (tend_get_prop(env, obj, "inheritEnv", &v) != 0 || (!tend_is_nullish(env, v) && tend_get_bool(env, v, &inherit) != 0)) return -1;
  if (inherit) {
    char *none[] = { NULL };
    char **unset = none;
    if (tend_get_prop(env, obj, "unsetEnv", &v) != 0 || (!tend_is_nullish(env, v) && (unset = get_strings(env, v)) == NULL)) return -1;
    char **envp = inherit_environ(req->envp, unset);
    if (unset != none) free_strings(unset);
    if (envp == NULL) {
      tend_throw_errno(env, ENOMEM, "malloc");
      return -1;
    }
    req->envp = envp;
  }
  if (tend_get_prop(env, obj, "searchPath", &v) != 0 || (search_path = tend_get_string(env, v)) == NULL) return -1;
  int built = build_candidates(env, req, search_path);
  free(search_path);
  if (built != 0) return -1;
  if (tend_get_prop(env, obj, "cwd", &v) != 0) return -1;
  if (!tend_is_nullish(env, v) && (req->cwd = tend_get_string(env, v)) == NULL) return -1;
  if (tend_get_prop(env, obj, "newProcessGroup", &v) != 0 || tend_get_bool(env, v, &req->new_group) != 0) return -1;
  if (tend_get_prop(env, obj, "foregroundTty", &v) != 0 || tend_get_i32(env, v, &i32) != 0) return -1;
  req->tty_fd = i32;
  if (tend_get_prop(env, obj, "rlimits", &v) != 0 || get_limits(env, v, req) != 0) return -1;
  if (tend_get_prop(env, obj, "uid", &v) != 0 || tend_get_i64(env, v, &req->uid) != 0) return -1;
  if (tend_get_prop(env, obj, "gid", &v) != 0 || tend_get_i64(env, v, &req->gid) != 0) return -1;

  if (tend_get_prop(env, obj, "groups", &v) != 0) return -1;
  if (!tend_is_nullish(env, v)) {
    if ((req->groups = get_numbers(env, v, &req->ngroups)) == NULL) return -1; /* gid_t is unsigned int on Linux */
    req->set_groups = true;
  }
  if (tend_get_prop(env, obj, "fds", &v) != 0) return -1;
  if ((req->fds = (int *)get_numbers(env, v, &req->nfds)) == NULL) return -1; /* reading unsigned as int is allowed */
  if (get_signal_set(env, obj, "ignoredSignals", &req->ignored) != 0) return -1;
  if (get_signal_set(env, obj, "blockedSignals", &req->blocked) != 0) return -1;
  if (tend_get_prop(env, obj, "parentDeathSignal", &v) != 0) return -1;
  if (!tend_is_nullish(env, v) && tend_get_i32(env, v, &req->death_signal) != 0) return -1;
  return 0;
}

/* Reads until `size` bytes or EOF; returns the byte count. */
static size_t read_full(int fd, void *buf, size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, (char *)buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  return got;
}

/* Reaps the failed child ourselves so it never shows up as a zombie or as someone else's exit. */
static void reap(pid_t pid) {
  int status;
  while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
  }
}

static napi_value throw_failure(napi_env env, const struct request *req, const struct failure *f) {
  enum step step = f->step >= 0 && f->step <= STEP_EXECVE ? (enum step)f->step : STEP_EXECVE;
  int err = f->err;
  if (step == STEP_EXECVE && err == ENOTDIR) err = ENOENT;
  napi_value error = tend_errno_error(env, err, step_names[step]);
  if (error == NULL) return tend_throw_napi(env);
  if (step == STEP_SETRLIMIT) {
    const char *name = tend_rlimit_name(f->index);
    if (name != NULL && tend_set_string(env, error, "resource", name) != 0) return NULL;
  }
  if (step == STEP_EXECVE && tend_set_string(env, error, "path", req->file) != 0) return NULL;
  napi_throw(env, error);
  return NULL;
}

/* spawn(request) -> pid: the only way tend starts a service process. */
napi_value tend_spawn(napi_env env, napi_callback_info info) {
  struct request req;
  memset(&req, 0, sizeof req);
  napi_value argv[1];
  napi_value result = NULL;
  if (tend_args(env, info, 1, argv) != 0 || parse_request(env, argv[0], &req) != 0) goto out;

  /* Every source fd must be open before the report pipe exists, so the pipe cannot take a number the caller named. */
  for (size_t i = 0; i < req.nfds; i++) {
    if (req.fds[i] >= 0 && fcntl(req.fds[i], F_GETFD) < 0) {
      tend_throw_errno(env, errno, "dup2");
      goto out;
    }
  }

  struct child_start start = { .req = &req, .listen_pid_slot = listen_pid_slot(req.envp) };
  if (pipe2(start.report, O_CLOEXEC) != 0) {
    tend_throw_errno(env, errno, "pipe2");
    goto out;
  }
  void *stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    int err = errno;
    close(start.report[0]);
    close(start.report[1]);
    tend_throw_errno(env, err, "mmap");
    goto out;
  }
  char *listen_pid_entry = start.listen_pid_slot < 0 ? NULL : req.envp[start.listen_pid_slot];

  /* Block everything so no Node/libuv handler runs in the child before it resets dispositions. On Linux
   * sigprocmask sets the calling thread's mask exactly as pthread_sigmask does (glibc and musl), and unlike
   * pthread_sigmask it carries no GLIBC_2.32 symbol version, so the prebuilt addon still loads on glibc 2.28. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  /* PR_SET_PDEATHSIG fires when the spawning *thread* exits: tend spawns from Node's main thread, which lives as long
   * as the process. CLONE_VFORK: this thread resumes once the child has exec'd or exited. The stack grows down. */
  req.parent = getpid();
  pid_t pid = clone(child_main, (char *)stack + CHILD_STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
  int clone_errno = errno;
  sigprocmask(SIG_SETMASK, &old, NULL);
  munmap(stack, CHILD_STACK_SIZE);
  if (listen_pid_entry != NULL) req.envp[start.listen_pid_slot] = listen_pid_entry; /* freed as ours */
  close(start.report[1]);
  int report0 = start.report[0];
  if (pid < 0) {
    close(report0);
    tend_throw_errno(env, clone_errno, "clone");
    goto out;
  }

  /* Closes the race with the child's own setpgid; EACCES (already exec'd) and ESRCH are expected and ignored. */
  if (req.new_group) (void)setpgid(pid, pid);

  struct failure f;
  size_t got = read_full(report0, &f, sizeof f);
  close(report0);
  if (got == sizeof f) {
    reap(pid);
    throw_failure(env, &req, &f);
    goto out;
  }
  result = tend_number(env, pid);
out:
  free_request(&req);
  return result;
}
