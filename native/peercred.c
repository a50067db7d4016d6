/* Who is on the other end of a unix stream socket (SO_PEERCRED): the control socket checks it on every request. */
#include "args.h"
#include "errors.h"

#include <errno.h>
#include <sys/socket.h>

/* peerCredentials(fd) -> { pid, uid, gid } of the process that connected; ENOTSOCK/EBADF/ENOPROTOOPT as thrown errors. */
napi_value tend_peer_credentials(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_i32(env, argv[0], &fd) != 0) return NULL;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return tend_throw_errno(env, errno, "getsockopt");
  napi_value result;
  if (napi_create_object(env, &result) != napi_ok) return tend_throw_napi(env);
  if (tend_set_number(env, result, "pid", (double)cred.pid) != 0 || tend_set_number(env, result, "uid", (double)cred.uid) != 0 ||
      tend_set_number(env, result, "gid", (double)cred.gid) != 0)
    return NULL;
  return result;
}
