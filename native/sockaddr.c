/* Building sockaddr_un for filesystem and abstract ('@') unix socket names. */
#include "sockaddr.h"
#include "args.h"
#include "errors.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int tend_unix_address(const char *path, struct sockaddr_un *addr, socklen_t *len) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  size_t n = strlen(path);
  if (n == 0) return EINVAL;
  if (path[0] == '@') {
    /* Abstract: a leading NUL, then the name; the address length (not a terminator) delimits it. */
    if (n > sizeof addr->sun_path) return ENAMETOOLONG;
    memcpy(addr->sun_path + 1, path + 1, n - 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  } else {
    if (n >= sizeof addr->sun_path) return ENAMETOOLONG;
    memcpy(addr->sun_path, path, n + 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  }
  return 0;
}

int tend_get_unix_address(napi_env env, napi_value value, const char *syscall, struct sockaddr_un *addr, socklen_t *len) {
  char *path = tend_get_string(env, value);
  if (path == NULL) return -1;
  int err = tend_unix_address(path, addr, len);
  free(path);
  if (err != 0) {
    tend_throw_errno(env, err, syscall);
    return -1;
  }
  return 0;
}
