/* Describing sockets tend did not open itself (systemd socket activation): their address, and close-on-exec. */
#include "args.h"
#include "errors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Builds { family: 'tcp', host, port } for an AF_INET/AF_INET6 address. */
static napi_value inet_result(napi_env env, const struct sockaddr_storage *addr) {
  char host[INET6_ADDRSTRLEN];
  int port;
  if (addr->ss_family == AF_INET) {
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)addr;
    if (inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host) == NULL) return tend_throw_errno(env, errno, "inet_ntop");
    port = ntohs(in4->sin_port);
  } else {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
    if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host) == NULL) return tend_throw_errno(env, errno, "inet_ntop");
    port = ntohs(in6->sin6_port);
  }
  napi_value result;
  if (napi_create_object(env, &result) != napi_ok) return tend_throw_napi(env);
  if (tend_set_string(env, result, "family", "tcp") != 0 || tend_set_string(env, result, "host", host) != 0 ||
      tend_set_number(env, result, "port", port) != 0)
    return NULL;
  return result;
}

/* Builds { family: 'unix', path } ('@name' for an abstract name; its NUL bytes shown as '@', as systemd does). */
static napi_value unix_result(napi_env env, const struct sockaddr_storage *addr, socklen_t len) {
  const struct sockaddr_un *un = (const struct sockaddr_un *)addr;
  char path[sizeof un->sun_path + 1];
  size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
  if (n > sizeof un->sun_path) n = sizeof un->sun_path;
  if (n > 0 && un->sun_path[0] == '\0') {
    path[0] = '@';
    for (size_t i = 1; i < n; i++) path[i] = un->sun_path[i] == '\0' ? '@' : un->sun_path[i];
    path[n] = '\0';
  } else {
    memcpy(path, un->sun_path, n);
    path[n] = '\0'; /* the kernel may or may not count the terminator in len */
  }
  napi_value result;
  if (napi_create_object(env, &result) != napi_ok) return tend_throw_napi(env);
  if (tend_set_string(env, result, "family", "unix") != 0 || tend_set_string(env, result, "path", path) != 0) return NULL;
  return result;
}

/*
 * socketAddress(fd) -> { family: 'tcp', host, port } | { family: 'unix', path }: the local address of a listening
 * stream socket (getsockname). ENOTSOCK for a non-socket, EPROTOTYPE (syscall 'getsockopt') for a socket that is
 * not SOCK_STREAM, EINVAL (syscall 'listen') for one that is not listening, EAFNOSUPPORT for other families.
 */
napi_value tend_socket_address(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_i32(env, argv[0], &fd) != 0) return NULL;
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  memset(&addr, 0, sizeof addr);
  if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0) return tend_throw_errno(env, errno, "getsockname");
  int type = 0, listening = 0;
  socklen_t optlen = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) != 0) return tend_throw_errno(env, errno, "getsockopt");
  if (type != SOCK_STREAM) return tend_throw_errno(env, EPROTOTYPE, "getsockopt");
  optlen = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) != 0) return tend_throw_errno(env, errno, "getsockopt");
  if (!listening) return tend_throw_errno(env, EINVAL, "listen");
  if (addr.ss_family == AF_INET || addr.ss_family == AF_INET6) return inet_result(env, &addr);
  if (addr.ss_family == AF_UNIX) return unix_result(env, &addr, len);
  return tend_throw_errno(env, EAFNOSUPPORT, "getsockname");
}

/* setCloexec(fd): systemd passes activated sockets without FD_CLOEXEC; tend maps them into workers explicitly. */
napi_value tend_set_cloexec(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_i32(env, argv[0], &fd) != 0) return NULL;
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return tend_throw_errno(env, errno, "fcntl");
  if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0) return tend_throw_errno(env, errno, "fcntl");
  return tend_undefined(env);
}
