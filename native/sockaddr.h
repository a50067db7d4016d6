/* AF_UNIX addresses with '@' meaning the abstract namespace, shared by dgram.c and listen.c. */
#ifndef TEND_SOCKADDR_H
#define TEND_SOCKADDR_H

#include <sys/socket.h>
#include <sys/un.h>

/* Fills addr and len for path ("@name" = abstract, leading NUL); 0 or ENAMETOOLONG/EINVAL. */
int tend_unix_address(const char *path, struct sockaddr_un *addr, socklen_t *len);

#endif
