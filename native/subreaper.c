/* PR_SET_CHILD_SUBREAPER: orphans of tend's services are reparented to tend instead of PID 1. */
#include "args.h"
#include "errors.h"

#include <errno.h>
#include <sys/prctl.h>

/* setChildSubreaper(on): lets tend reap (and account for) the grandchildren its services leave behind. */
napi_value tend_set_child_subreaper(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bool on;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_bool(env, argv[0], &on) != 0) return NULL;
  if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1UL : 0UL, 0UL, 0UL, 0UL) != 0) return tend_throw_errno(env, errno, "prctl");
  return tend_undefined(env);
}

/* isChildSubreaper(): reports the current setting (for status output and tests). */
napi_value tend_is_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  int value = 0;
  if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&value, 0UL, 0UL, 0UL) != 0) return tend_throw_errno(env, errno, "prctl");
  return tend_bool(env, value != 0);
}
