/* getrlimit/setrlimit on tend itself, and the resource-name table from the system headers. */
#include "rlimit.h"
#include "args.h"
#include "errors.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  int resource;
} resources[] = {
  { "as", RLIMIT_AS },
  { "core", RLIMIT_CORE },
  { "cpu", RLIMIT_CPU },
  { "data", RLIMIT_DATA },
  { "fsize", RLIMIT_FSIZE },
  { "locks", RLIMIT_LOCKS },
  { "memlock", RLIMIT_MEMLOCK },
  { "msgqueue", RLIMIT_MSGQUEUE },
  { "nice", RLIMIT_NICE },
  { "nofile", RLIMIT_NOFILE },
  { "nproc", RLIMIT_NPROC },
  { "rss", RLIMIT_RSS },
  { "rtprio", RLIMIT_RTPRIO },
  { "rttime", RLIMIT_RTTIME },
  { "sigpending", RLIMIT_SIGPENDING },
  { "stack", RLIMIT_STACK },
};

#define RESOURCE_COUNT (sizeof resources / sizeof resources[0])

const char *tend_rlimit_name(int resource) {
  for (size_t i = 0; i < RESOURCE_COUNT; i++)
    if (resources[i].resource == resource) return resources[i].name;
  return NULL;
}

rlim_t tend_rlim_from_number(double value) {
  return isinf(value) ? RLIM_INFINITY : (rlim_t)value;
}

double tend_rlim_to_number(rlim_t value) {
  return value == RLIM_INFINITY ? INFINITY : (double)value;
}

/* Throws an errno error that also names the resource, e.g. resource: 'nofile'. */
static napi_value throw_rlimit_error(napi_env env, int err, const char *syscall, int resource) {
  napi_value error = tend_errno_error(env, err, syscall);
  if (error == NULL) return tend_throw_napi(env);
  const char *name = tend_rlimit_name(resource);
  if (name != NULL && tend_set_string(env, error, "resource", name) != 0) return NULL;
  napi_throw(env, error);
  return NULL;
}

/* getrlimit(resource) -> { soft, hard }: tend reads its own limits. */
napi_value tend_getrlimit(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t resource;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_i32(env, argv[0], &resource) != 0) return NULL;

  struct rlimit lim;
  if (getrlimit(resource, &lim) != 0) return throw_rlimit_error(env, errno, "getrlimit", resource);

  napi_value result;
  if (napi_create_object(env, &result) != napi_ok) return tend_throw_napi(env);
  if (tend_set_number(env, result, "soft", tend_rlim_to_number(lim.rlim_cur)) != 0 ||
      tend_set_number(env, result, "hard", tend_rlim_to_number(lim.rlim_max)) != 0)
    return NULL;
  return result;
}

/* setrlimit(resource, soft, hard): tend changes its own limits. */
napi_value tend_setrlimit(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t resource;
  double soft, hard;
  if (tend_args(env, info, 3, argv) != 0 || tend_get_i32(env, argv[0], &resource) != 0 ||
      tend_get_f64(env, argv[1], &soft) != 0 || tend_get_f64(env, argv[2], &hard) != 0)
    return NULL;

  struct rlimit lim = { tend_rlim_from_number(soft), tend_rlim_from_number(hard) };
  if (setrlimit(resource, &lim) != 0) return throw_rlimit_error(env, errno, "setrlimit", resource);
  return tend_undefined(env);
}

/* rlimitResources() -> { nofile: 7, ... }: resource numbers come from the headers, not from TS. */
napi_value tend_rlimit_resources(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  if (napi_create_object(env, &result) != napi_ok) return tend_throw_napi(env);
  for (size_t i = 0; i < RESOURCE_COUNT; i++)
    if (tend_set_number(env, result, resources[i].name, resources[i].resource) != 0) return NULL;
  return result;
}

/* One limit as the launcher writes it: digits, or "inf" for RLIM_INFINITY, ended by `end`. */
static bool parse_limit(const char *text, char end, rlim_t *value, const char **next) {
  if (strncmp(text, "inf", 3) == 0 && text[3] == end) {
    *value = RLIM_INFINITY;
    *next = text + 3;
    return true;
  }
  if (*text < '0' || *text > '9') return false;
  errno = 0;
  char *stop;
  unsigned long long parsed = strtoull(text, &stop, 10);
  if (errno != 0 || *stop != end || parsed >= RLIM_INFINITY) return false;
  *value = (rlim_t)parsed;
  *next = stop;
  return true;
}

/* changedLimits(recorded) -> [{ resource, soft, hard }]: of the launcher's record of the limits tend was exec'd with
 * ("7=1024:524288,4=0:inf", src/os/rlimits.ts), those that differ from tend's own now (Node raises the open-files soft
 * limit at start), in order: the setrlimit calls that give a child the limits tend was given. An item that is not
 * RESOURCE=SOFT:HARD, or names a resource getrlimit does not know, is skipped. One call where a getrlimit per resource
 * and the parse in JavaScript cost ~0.25 ms of every start. */
napi_value tend_changed_limits(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char *recorded = NULL;
  if (tend_args(env, info, 1, argv) != 0 || (recorded = tend_get_string(env, argv[0])) == NULL) return NULL;
  napi_value result;
  uint32_t count = 0;
  if (napi_create_array(env, &result) != napi_ok) {
    free(recorded);
    return tend_throw_napi(env);
  }
  for (const char *item = recorded; *item != '\0';) {
    const char *comma = strchr(item, ',');
    const char *after = comma == NULL ? item + strlen(item) : comma + 1;
    rlim_t resource, soft, hard;
    const char *at;
    struct rlimit now;
    bool ok = parse_limit(item, '=', &resource, &at) && resource <= INT32_MAX && parse_limit(at + 1, ':', &soft, &at) &&
              parse_limit(at + 1, comma == NULL ? '\0' : ',', &hard, &at) && getrlimit((int)resource, &now) == 0;
    if (ok && (now.rlim_cur != soft || now.rlim_max != hard)) {
      napi_value entry;
      if (napi_create_object(env, &entry) != napi_ok || napi_set_element(env, result, count++, entry) != napi_ok) {
        free(recorded);
        return tend_throw_napi(env);
      }
      if (tend_set_number(env, entry, "resource", (double)resource) != 0 ||
          tend_set_number(env, entry, "soft", tend_rlim_to_number(soft)) != 0 ||
          tend_set_number(env, entry, "hard", tend_rlim_to_number(hard)) != 0) {
        free(recorded);
        return NULL;
      }
    }
    item = after;
  }
  free(recorded);
  return result;
}
