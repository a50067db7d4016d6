/* A timer on the event loop's own libuv timer, without Node's timers: on Node 20 the first setTimeout of a process
 * compiles Node's timer internals from source (~0.6 ms), which a `tend run` otherwise pays on every start. tend's
 * keyed timers (src/runner/timers.ts) all run on one of these, and its keep-alive is another.
 *
 * Like a Node timer, a started timer keeps the loop alive and a stopped one does not; it reads the same clock as
 * Node's timers (uv_now, brought up to date first, as Node's GetNow does). */
#include "args.h"
#include "callback.h"
#include "errors.h"

#include <errno.h>
#include <uv.h>

/* The longest start() takes: 2^53 ms (the largest integer a JS number holds exactly), ~285,000 years. */
#define MAX_TIMEOUT_MS 9007199254740992.0

struct timer {
  struct tend_callback js; /* first: owners are the uv handle and the JS functions; freed when all are gone */
  uv_timer_t handle;
};

static void on_timeout(uv_timer_t *handle) {
  tend_callback_fire(handle->data); /* an exception in onFire becomes an ordinary uncaught exception */
}

/* start(ms): (re)arms the timer to call onFire once, ms from now; replaces an earlier start. */
static napi_value start_timer(napi_env env, napi_callback_info info) {
  napi_value arg;
  double ms;
  struct timer *t = tend_callback_this(env, info, &arg);
  if (t == NULL || tend_get_f64(env, arg, &ms) != 0) return NULL;
  if (t->js.closed) return tend_throw_errno(env, EBADF, "uv_timer_start");
  if (!(ms > 0)) ms = 0; /* NaN too; the facade has checked it already */
  if (ms > MAX_TIMEOUT_MS) ms = MAX_TIMEOUT_MS;
  uv_update_time(t->handle.loop); /* at least ms from now, not from when this loop iteration began */
  int rc = uv_timer_start(&t->handle, on_timeout, (uint64_t)ms, 0);
  if (rc != 0) return tend_throw_errno(env, -rc, "uv_timer_start");
  return tend_undefined(env);
}

/* stop(): disarms it; a stopped timer does not keep the loop alive. */
static napi_value stop_timer(napi_env env, napi_callback_info info) {
  struct timer *t = tend_callback_this(env, info, NULL);
  if (t == NULL) return NULL;
  if (!t->js.closed) uv_timer_stop(&t->handle);
  return tend_undefined(env);
}

/* now(): the loop's clock in ms, the one start() measures from. */
static napi_value now_timer(napi_env env, napi_callback_info info) {
  struct timer *t = tend_callback_this(env, info, NULL);
  if (t == NULL) return NULL;
  uv_update_time(t->handle.loop);
  return tend_number(env, (double)uv_now(t->handle.loop));
}

/* timer(onFire) -> {start, stop, close, now}: one libuv timer calling onFire() on the event loop. Created stopped;
 * started, it keeps the loop alive until it fires, is stopped or closed. An exception in onFire becomes an ordinary
 * uncaught exception. */
napi_value tend_timer(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tend_args(env, info, 1, argv) != 0) return NULL;
  uv_loop_t *loop;
  struct timer *t = tend_callback_alloc(env, sizeof *t, &loop);
  if (t == NULL || tend_callback_inited(env, t, uv_timer_init(loop, &t->handle), "uv_timer_init") != 0) return NULL;
  tend_callback_adopt(&t->js, (uv_handle_t *)&t->handle); /* each method becomes an owner as it is created */

  napi_value handle = tend_callback_object(&t->js, env, argv[0], "tend:timer");
  if (handle == NULL) return NULL;
  if (tend_callback_method(&t->js, handle, "start", start_timer) != 0 || tend_callback_method(&t->js, handle, "stop", stop_timer) != 0 ||
      tend_callback_method(&t->js, handle, "now", now_timer) != 0)
    goto fail;
  return handle;

fail:
  tend_throw_napi(env);
  tend_callback_close(&t->js);
  return NULL;
}
