/* Ending tend's own process once it has nothing left to do. */
#include "args.h"

#include <unistd.h>

/* exitNow(code): _exit(2) at once, without Node's own exit: no 'exit' event, no stopping of Node's platform threads,
 * no C library exit handlers (OpenSSL's cleanup among them): ~0.5 ms of a plain run here. cli/main.ts uses it only
 * when nothing waits for Node's exit; what tend wrote is already with the kernel (stdout and stderr are synchronous on
 * Linux, the event log is written with writeSync). */
napi_value tend_exit_now(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t code;
  if (tend_args(env, info, 1, argv) != 0 || tend_get_i32(env, argv[0], &code) != 0) return NULL;
  _exit(code & 0xff);
}
