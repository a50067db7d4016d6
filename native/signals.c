/* Signals Node cannot listen for (real-time signals, and SIGPIPE sent by another process): a sigaction handler writes
 * the signal number to a self-pipe, and the event loop reads the pipe and calls back into JS.
 *
 * A handler installed with sigaction is process-wide, so it does not matter which of Node's threads the kernel picks
 * to deliver a signal: every thread that does not block it runs the same handler. */
#include "args.h"
#include "callback.h"
#include "errors.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define MAX_SIGNAL 64

/* Created once and never closed: a handler already running on another thread may still write to it, and a closed fd
 * number could by then belong to something else. Both ends are CLOEXEC, so children never see them. */
static int self_pipe[2] = { -1, -1 };

struct watch {
  struct tend_callback js; /* first: owners are the uv handle and the JS close function; freed when both are gone */
  uv_poll_t poll;
  bool watched[MAX_SIGNAL + 1];
  struct sigaction previous[MAX_SIGNAL + 1];
};

/* The one active watch of the process (signal dispositions are process-wide). */
static struct watch *active = NULL;

static void on_signal(int signo, siginfo_t *info, void *context) {
  (void)context;
  /* The kernel raises SIGPIPE on a write to a closed pipe with the writer's own pid: that one is tend's business. */
  if (signo == SIGPIPE && info != NULL && info->si_pid == getpid()) return;
  int saved = errno;
  unsigned char byte = (unsigned char)signo;
  ssize_t n = write(self_pipe[1], &byte, 1); /* a full pipe (64 KiB of undelivered signals) drops this one */
  (void)n;
  errno = saved;
}

/* Puts back the dispositions the watched signals had before (SIG_DFL for real-time signals, Node's SIG_IGN for SIGPIPE). */
static void restore(struct watch *w) {
  for (int sig = 1; sig <= MAX_SIGNAL; sig++)
    if (w->watched[sig]) sigaction(sig, &w->previous[sig], NULL);
}

/* As the watch closes: the dispositions go back, and another watch may start. */
static void forget(void *handle) {
  struct watch *w = handle;
  restore(w);
  if (active == w) active = NULL;
}

static void deliver(struct watch *w, int signo) {
  napi_env env = w->js.env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value arg = tend_number(env, signo);
  if (arg != NULL) tend_callback_call(&w->js, 1, &arg); /* an exception in onSignal becomes an uncaught exception */
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  struct watch *w = handle->data;
  unsigned char buf[64];
  while (!w->js.closed) {
    ssize_t n = read(self_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n && !w->js.closed; i++)
      if (buf[i] <= MAX_SIGNAL && w->watched[buf[i]]) deliver(w, buf[i]);
  }
}

/* Reads the signal numbers and installs the handler for each; 0, or -1 with an exception thrown (nothing installed). */
static int install(napi_env env, napi_value array, struct watch *w) {
  uint32_t n;
  if (tend_get_length(env, array, &n) != 0) return -1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    int32_t sig;
    if (napi_get_element(env, array, i, &item) != napi_ok) {
      tend_throw_napi(env);
      goto undo;
    }
    if (tend_get_i32(env, item, &sig) != 0) goto undo;
    if (sig < 1 || sig > MAX_SIGNAL || w->watched[sig]) continue;
    if (sigaction(sig, &sa, &w->previous[sig]) != 0) {
      tend_throw_errno(env, errno, "sigaction");
      goto undo;
    }
    w->watched[sig] = true;
  }
  return 0;
undo:
  restore(w);
  return -1;
}

/* signalWatch(signos, onSignal) -> {close}: catches signals Node cannot listen for and calls onSignal(signo) on the
 * event loop. One watch per process; close() restores the previous dispositions. The watch does not keep the loop
 * alive, like Node's own signal listeners. */
napi_value tend_signal_watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (tend_args(env, info, 2, argv) != 0) return NULL;
  if (active != NULL) return tend_throw_errno(env, EBUSY, "sigaction");
  if (self_pipe[0] < 0 && pipe2(self_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    int err = errno;
    self_pipe[0] = self_pipe[1] = -1;
    return tend_throw_errno(env, err, "pipe2");
  }
  /* Bytes left by an earlier watch belong to it. */
  unsigned char stale[64];
  while (read(self_pipe[0], stale, sizeof stale) > 0) {
  }

  uv_loop_t *loop;
  struct watch *w = tend_callback_alloc(env, sizeof *w, &loop);
  if (w == NULL || tend_callback_inited(env, w, uv_poll_init(loop, &w->poll, self_pipe[0]), "uv_poll_init") != 0) return NULL;
  tend_callback_adopt(&w->js, (uv_handle_t *)&w->poll);
  w->js.before_close = forget;
  uv_unref((uv_handle_t *)&w->poll);

  napi_value handle = tend_callback_object(&w->js, env, argv[1], "tend:signalWatch");
  if (handle == NULL) return NULL;
  if (tend_callback_started(&w->js, handle, uv_poll_start(&w->poll, UV_READABLE, on_readable), "uv_poll_start") == NULL) return NULL;
  if (install(env, argv[0], w) != 0) {
    tend_callback_close(&w->js);
    return NULL;
  }
  active = w;
  return handle;
}

/* kill(pid, signo) -> true, or false when no such process (ESRCH); other errors throw. process.kill reports a gone
 * process by building an exception (and loading Node's errno table for its name): tend asks "is it still there"
 * on every exit, so a plain answer keeps that out of every run. */
napi_value tend_kill(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t pid, signo;
  if (tend_args(env, info, 2, argv) != 0 || tend_get_i32(env, argv[0], &pid) != 0 || tend_get_i32(env, argv[1], &signo) != 0)
    return NULL;
  if (kill(pid, signo) == 0) return tend_bool(env, true);
  if (errno == ESRCH) return tend_bool(env, false);
  return tend_throw_errno(env, errno, "kill");
}

/* realtimeSignalRange() -> {min, max}: SIGRTMIN and SIGRTMAX as this libc reserves them (glibc 34, musl 35; 64). */
napi_value tend_realtime_signal_range(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  if (napi_create_object(env, &result) != napi_ok) return tend_throw_napi(env);
  if (tend_set_number(env, result, "min", SIGRTMIN) != 0 || tend_set_number(env, result, "max", SIGRTMAX) != 0) return NULL;
  return result;
}
