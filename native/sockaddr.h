/* AF_UNIX addresses with '@' meaning the abstract namespace, shared by dgram.c and listen.c. */
#ifndef TEND_SOCKADDR_H
#define TEND_SOCKADDR_H

#include "tend.h"

#include <sys/socket.h>
#include <sys/un.h>

/* Fills addr and len for path ("@name" = abstract, leading NUL); 0 or ENAMETOOLONG/EINVAL. */
int tend_unix_address(const char *path, struct sockaddr_un *addr, socklen_t *len);

/* Reads a JS string argument as a unix address; on failure throws (errno named after `syscall`) and returns -1. */
int tend_get_unix_address(napi_env env, napi_value value, const char *syscall, struct sockaddr_un *addr, socklen_t *len);

#endif
