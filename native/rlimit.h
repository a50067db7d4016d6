/* Resource-limit helpers shared by rlimit.c and spawn.c. */
#ifndef TEND_RLIMIT_H
#define TEND_RLIMIT_H

#include <sys/resource.h>

/* Lower-case name without RLIMIT_ ("nofile") for error messages and config; NULL if unknown. */
const char *tend_rlimit_name(int resource);

/* JS numbers <-> rlim_t, with Infinity standing for RLIM_INFINITY. */
rlim_t tend_rlim_from_number(double value);
double tend_rlim_to_number(rlim_t value);

#endif
