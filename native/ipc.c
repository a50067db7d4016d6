/* Node's IPC channel, tend's side: a stream socketpair per worker (the child's end becomes its IPC channel fd) and
 * sendmsg with SCM_RIGHTS, which is how Node passes a listening socket to a process ('net.Native' handles). */
#include "args.h"
#include "errors.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ipcSocketPair() -> [tendEnd, childEnd]: AF_UNIX SOCK_STREAM, both CLOEXEC (spawn maps the child's end in);
 * tend's end is non-blocking so a child that stops reading costs EAGAIN, never a frozen loop. */
napi_value tend_ipc_socket_pair(napi_env env, napi_callback_info info) {
  (void)info;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return tend_throw_errno(env, errno, "socketpair");
  int flags = fcntl(sv[0], F_GETFL);
  if (flags < 0 || fcntl(sv[0], F_SETFL, flags | O_NONBLOCK) != 0) {
    int err = errno;
    close(sv[0]);
    close(sv[1]);
    return tend_throw_errno(env, err, "fcntl");
  }
  return tend_fd_pair(env, sv);
}

/* ipcSend(fd, data, passFd) -> bytes sent: one sendmsg, with passFd attached by SCM_RIGHTS unless it is -1.
 * A stream socket may take part of the data: the caller sends the rest later (the fd travels with the first byte).
 * EAGAIN returns 0; MSG_NOSIGNAL turns a vanished child into EPIPE instead of killing tend with SIGPIPE. */
napi_value tend_ipc_send(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, pass_fd;
  void *data;
  size_t size;
  if (tend_args(env, info, 3, argv) != 0 || tend_get_i32(env, argv[0], &fd) != 0 || tend_get_i32(env, argv[2], &pass_fd) != 0)
    return NULL;
  if (napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok) return tend_throw_type(env, "expected a Buffer");

  struct iovec iov = { .iov_base = data, .iov_len = size };
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  if (pass_fd >= 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof(int));
  }
  ssize_t sent;
  do {
    sent = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return tend_number(env, 0);
    return tend_throw_errno(env, errno, "sendmsg");
  }
  return tend_number(env, (double)sent);
}

/* setNonblocking(fd): a listening socket handed to Node over IPC must be O_NONBLOCK before it leaves. Node adopts a
 * received handle as it is (it expects a socket Node itself made), and O_NONBLOCK belongs to the open file, shared by
 * every worker: a blocking one leaves a worker that lost the race for a connection asleep in accept(), deaf to
 * signals. */
napi_value tend_set_nonblocking(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_i32(env, argv[0], &fd) != 0) return NULL;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return tend_throw_errno(env, errno, "fcntl");
  if ((flags & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return tend_throw_errno(env, errno, "fcntl");
  return tend_undefined(env);
}
