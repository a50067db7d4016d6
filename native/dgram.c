/* Unix datagram sockets for sd_notify in both directions: services notify tend, tend notifies systemd. */
#include "args.h"
#include "callback.h"
#include "errors.h"
#include "sockaddr.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_DATAGRAM 4096 /* longer datagrams are reported as truncated */
#define MAX_FDS 16        /* SCM_RIGHTS fds we make room for; the kernel closes any beyond that */
#define MAX_PER_WAKEUP 64 /* datagrams handled per readable event before yielding to the loop */

static int enable_passcred(int fd) {
  int one = 1;
  return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
}

/* dgramSocketPair() -> [tendEnd, childEnd]: a private NOTIFY_SOCKET for one service (tend's end gets SO_PASSCRED).
 * Both ends are non-blocking: a child whose datagrams tend has not read yet gets EAGAIN instead of a frozen loop. */
napi_value tend_dgram_socket_pair(napi_env env, napi_callback_info info) {
  (void)info;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) return tend_throw_errno(env, errno, "socketpair");
  if (enable_passcred(sv[0]) != 0) {
    int err = errno;
    close(sv[0]);
    close(sv[1]);
    return tend_throw_errno(env, err, "setsockopt");
  }
  return tend_fd_pair(env, sv);
}

/* dgramBind(path) -> fd: a NOTIFY_SOCKET services can find by path ('@name' = abstract). */
napi_value tend_dgram_bind(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tend_args(env, info, 1, argv) != 0) return NULL;
  struct sockaddr_un addr;
  socklen_t len;
  if (tend_get_unix_address(env, argv[0], "bind", &addr, &len) != 0) return NULL;

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return tend_throw_errno(env, errno, "socket");
  const char *syscall = NULL;
  if (enable_passcred(fd) != 0) syscall = "setsockopt";
  else if (bind(fd, (struct sockaddr *)&addr, len) != 0) syscall = "bind";
  if (syscall != NULL) {
    int err = errno;
    close(fd);
    return tend_throw_errno(env, err, syscall);
  }
  return tend_number(env, fd);
}

/* dgramSend(path, data): one datagram to an unbound socket path, e.g. tend -> systemd's NOTIFY_SOCKET.
 * Non-blocking: a full receive queue is reported as EAGAIN rather than stalling tend. */
napi_value tend_dgram_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  void *data;
  size_t size;
  if (tend_args(env, info, 2, argv) != 0) return NULL;
  if (napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok) return tend_throw_type(env, "expected a Buffer");
  struct sockaddr_un addr;
  socklen_t len;
  if (tend_get_unix_address(env, argv[0], "sendto", &addr, &len) != 0) return NULL;

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return tend_throw_errno(env, errno, "socket");
  ssize_t sent = sendto(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&addr, len);
  int err = errno;
  close(fd);
  if (sent < 0) return tend_throw_errno(env, err, "sendto");
  return tend_undefined(env);
}

/* ---- dgramWatch ---- */

struct watcher {
  struct tend_callback js; /* first: owners are the uv handle and the JS close function; freed when both are gone */
  uv_poll_t poll; /* closing it leaves the fd open: the caller owns the fd */
  int fd;
};

struct sender {
  double pid, uid, gid; /* -1 when no SCM_CREDENTIALS came with the datagram */
  double fds;
};

static void deliver(struct watcher *w, const char *data, size_t len, const struct sender *s, bool truncated) {
  napi_env env = w->js.env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value msg, buffer, flag;
  void *copy;
  if (napi_create_object(env, &msg) == napi_ok && napi_create_buffer_copy(env, len, data, &copy, &buffer) == napi_ok &&
      napi_set_named_property(env, msg, "data", buffer) == napi_ok && tend_set_number(env, msg, "pid", s->pid) == 0 &&
      tend_set_number(env, msg, "uid", s->uid) == 0 && tend_set_number(env, msg, "gid", s->gid) == 0 &&
      tend_set_number(env, msg, "fds", s->fds) == 0 && napi_get_boolean(env, truncated, &flag) == napi_ok &&
      napi_set_named_property(env, msg, "truncated", flag) == napi_ok)
    tend_callback_call(&w->js, 1, &msg); /* an exception in onMessage becomes an ordinary uncaught exception */
  napi_close_handle_scope(env, scope);
}

/* Reads SCM_CREDENTIALS and closes every SCM_RIGHTS fd at once: closing is what ends sd_notify_barrier()'s wait. */
static void read_control(struct msghdr *msg, struct sender *s) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
        close(fd);
      }
      s->fds += (double)count;
    } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      struct ucred cred;
      memcpy(&cred, CMSG_DATA(c), sizeof cred);
      s->pid = cred.pid;
      s->uid = cred.uid;
      s->gid = cred.gid;
    }
  }
}

/* Delivers queued datagrams; returns the recvmsg errno that ended the loop (EAGAIN when drained), 0 if it stopped
 * early (watcher closed, or MAX_PER_WAKEUP reached: the level-triggered poll calls again). */
static int drain(struct watcher *w) {
  for (int i = 0; i < MAX_PER_WAKEUP && !w->js.closed; i++) {
    char data[MAX_DATAGRAM + 1];
    union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(MAX_FDS * sizeof(int))];
    } control;
    struct iovec iov = { data, sizeof data };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;

    ssize_t n = recvmsg(w->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;

    struct sender s = { -1, -1, -1, 0 };
    read_control(&msg, &s);
    bool truncated = (msg.msg_flags & MSG_TRUNC) != 0 || n > MAX_DATAGRAM;
    deliver(w, data, n > MAX_DATAGRAM ? MAX_DATAGRAM : (size_t)n, &s, truncated);
  }
  return 0;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  struct watcher *w = handle->data;
  int err = drain(w);
  /* On a socket error libuv stops the poll; recvmsg above consumed the error, so resume unless the fd is unusable. */
  if (status < 0 && !w->js.closed && err != EBADF && err != ENOTSOCK) uv_poll_start(handle, UV_READABLE, on_readable);
}

/* The close() returned by dgramWatch. */
/* dgramWatch(fd, onMessage) -> {close}: delivers each datagram with the sender's credentials, on the event loop. */
napi_value tend_dgram_watch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  if (tend_args(env, info, 2, argv) != 0 || tend_get_i32(env, argv[0], &fd) != 0) return NULL;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return tend_throw_errno(env, errno, "fcntl");

  uv_loop_t *loop;
  struct watcher *w = tend_callback_alloc(env, sizeof *w, &loop);
  if (w == NULL || tend_callback_inited(env, w, uv_poll_init(loop, &w->poll, fd), "uv_poll_init") != 0) return NULL;
  w->fd = fd;
  tend_callback_adopt(&w->js, (uv_handle_t *)&w->poll);

  napi_value handle = tend_callback_object(&w->js, env, argv[1], "tend:dgramWatch");
  if (handle == NULL) return NULL;
  return tend_callback_started(&w->js, handle, uv_poll_start(&w->poll, UV_READABLE, on_readable), "uv_poll_start");
}
