/* Closing fds the addon handed out (listening sockets, socketpair ends, bound datagram sockets). */
#include "args.h"
#include "errors.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* closeFd(fd): tend owns raw fds that no Node handle wraps, so it needs a plain close(2). */
napi_value tend_close_fd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_i32(env, argv[0], &fd) != 0) return NULL;
  /* EINTR: Linux has already released the fd, so retrying could close someone else's. */
  if (close(fd) != 0 && errno != EINTR) return tend_throw_errno(env, errno, "close");
  return tend_undefined(env);
}

/* pipe() -> [readEnd, writeEnd]: worker output is captured through pipes tend reads (Node has no pipe(2)). */
napi_value tend_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return tend_throw_errno(env, errno, "pipe2");
  return tend_fd_pair(env, fds);
}

/* [fds[0], fds[1]] for JS; on failure both fds are closed (nobody else holds them yet) and an exception is thrown. */
napi_value tend_fd_pair(napi_env env, const int fds[2]) {
  napi_value result, a, b;
  if (napi_create_array_with_length(env, 2, &result) != napi_ok || (a = tend_number(env, fds[0])) == NULL ||
      (b = tend_number(env, fds[1])) == NULL || napi_set_element(env, result, 0, a) != napi_ok ||
      napi_set_element(env, result, 1, b) != napi_ok) {
    close(fds[0]);
    close(fds[1]);
    return tend_throw_napi(env);
  }
  return result;
}
