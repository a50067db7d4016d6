/* Job control: who owns the terminal, handing it over, and not being stopped by it. */
#include "args.h"
#include "errors.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* tcgetpgrp(fd) -> pgid, or -1 when fd is not our controlling terminal: tend asks before handing the terminal over. */
napi_value tend_tcgetpgrp(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_i32(env, argv[0], &fd) != 0) return NULL;
  pid_t pgid = tcgetpgrp(fd);
  if (pgid < 0 && errno != ENOTTY) return tend_throw_errno(env, errno, "tcgetpgrp");
  return tend_number(env, pgid < 0 ? -1 : pgid);
}

/* tcsetpgrp(fd, pgid): SIGTTOU is blocked around the call so a background tend can take the terminal back. */
napi_value tend_tcsetpgrp(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, pgid;
  if (tend_args(env, info, 2, argv) != 0 || tend_get_i32(env, argv[0], &fd) != 0 || tend_get_i32(env, argv[1], &pgid) != 0)
    return NULL;
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  sigprocmask(SIG_BLOCK, &ttou, &old); /* this thread's mask; see spawn.c on why not pthread_sigmask */
  int rc = tcsetpgrp(fd, pgid);
  int err = errno;
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) return tend_throw_errno(env, err, "tcsetpgrp");
  return tend_undefined(env);
}

/* getpgrp(): tend's own process group, to give the terminal back to itself. */
napi_value tend_getpgrp(napi_env env, napi_callback_info info) {
  (void)info;
  return tend_number(env, getpgrp());
}

/* ignoreSignal(signo): SIG_IGN for signals Node has no way to ignore (SIGTTIN/SIGTTOU), so terminal I/O never stops tend.
 * Do not use it on a signal that has process.on() listeners: it replaces libuv's handler. */
napi_value tend_ignore_signal(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t signo;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_i32(env, argv[0], &signo) != 0) return NULL;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  if (sigaction(signo, &sa, NULL) != 0) return tend_throw_errno(env, errno, "sigaction");
  return tend_undefined(env);
}
