/* Listening sockets that tend owns and hands to its services by fd (socket activation style). */
#include "args.h"
#include "errors.h"
#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Closes fd without disturbing errno, and throws the saved error for `syscall`. */
static napi_value fail_and_close(napi_env env, int fd, const char *syscall) {
  int err = errno;
  close(fd);
  return tend_throw_errno(env, err, syscall);
}

/* listenTcp(host, port, backlog, reusePort) -> fd: a socket that outlives every restart of the service using it.
   backlog -1: bound but not listening (an SO_REUSEPORT copy joins the port's group only when its worker listens). */
napi_value tend_listen_tcp(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t port, backlog;
  bool reuse_port;
  if (tend_args(env, info, 4, argv) != 0 || tend_get_i32(env, argv[1], &port) != 0 ||
      tend_get_i32(env, argv[2], &backlog) != 0 || tend_get_bool(env, argv[3], &reuse_port) != 0)
    return NULL;
  char *host = tend_get_string(env, argv[0]);
  if (host == NULL) return NULL;

  struct sockaddr_storage addr;
  socklen_t len;
  memset(&addr, 0, sizeof addr);
  struct sockaddr_in *in4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&addr;
  if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    len = sizeof *in4;
  } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    len = sizeof *in6;
  } else {
    free(host);
    return tend_throw_errno(env, EINVAL, "inet_pton");
  }
  free(host);

  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return tend_throw_errno(env, errno, "socket");
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return fail_and_close(env, fd, "setsockopt");
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) return fail_and_close(env, fd, "setsockopt");
  if (bind(fd, (struct sockaddr *)&addr, len) != 0) return fail_and_close(env, fd, "bind");
  if (backlog >= 0 && listen(fd, backlog) != 0) return fail_and_close(env, fd, "listen");
  return tend_number(env, fd);
}

/* listenUnix(path, backlog) -> fd: same for a unix stream socket ('@name' = abstract). */
napi_value tend_listen_unix(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t backlog;
  if (tend_args(env, info, 2, argv) != 0 || tend_get_i32(env, argv[1], &backlog) != 0) return NULL;
  struct sockaddr_un addr;
  socklen_t len;
  if (tend_get_unix_address(env, argv[0], "bind", &addr, &len) != 0) return NULL;

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return tend_throw_errno(env, errno, "socket");
  if (bind(fd, (struct sockaddr *)&addr, len) != 0) return fail_and_close(env, fd, "bind");
  if (listen(fd, backlog) != 0) return fail_and_close(env, fd, "listen");
  return tend_number(env, fd);
}

/* socketPort(fd) -> port: which port the kernel picked for port 0. */
napi_value tend_socket_port(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_i32(env, argv[0], &fd) != 0) return NULL;
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0) return tend_throw_errno(env, errno, "getsockname");
  if (addr.ss_family == AF_INET) return tend_number(env, ntohs(((struct sockaddr_in *)&addr)->sin_port));
  if (addr.ss_family == AF_INET6) return tend_number(env, ntohs(((struct sockaddr_in6 *)&addr)->sin6_port));
  return tend_throw_errno(env, EAFNOSUPPORT, "getsockname");
}
