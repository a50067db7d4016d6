/* Closing fds the addon handed out (listening sockets, socketpair ends, bound datagram sockets). */
#include "args.h"
#include "errors.h"

#include <errno.h>
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
