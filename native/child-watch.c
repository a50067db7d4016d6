/* SIGCHLD on the event loop through libuv's own signal handling, without Node's: a first process.on('SIGCHLD')
 * costs ~75-90 µs of Node's JavaScript on every start (its signal module, a Signal wrap), and tend's reaper needs it
 * on every run. libuv keeps one process-wide handler per signal and calls every watcher of it, so this watcher and
 * the one libuv starts for child_process's children both see every SIGCHLD. */
#include "args.h"
#include "callback.h"
#include "errors.h"

#include <signal.h>
#include <uv.h>

struct child_watch {
  struct tend_callback js; /* first: owners are the uv handle and the JS close function; freed when both are gone */
  uv_signal_t handle;
};

static void on_child(uv_signal_t *handle, int signo) {
  (void)signo;
  tend_callback_fire(handle->data); /* an exception in onChild becomes an ordinary uncaught exception */
}

/* childSignalWatch(onChild) -> {close}: calls onChild() on the event loop after each SIGCHLD (signals may merge, as
 * SIGCHLD does). Like Node's own signal listeners, it does not keep the loop alive. */
napi_value tend_child_signal_watch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (tend_args(env, info, 1, argv) != 0) return NULL;
  uv_loop_t *loop;
  struct child_watch *w = tend_callback_alloc(env, sizeof *w, &loop);
  if (w == NULL || tend_callback_inited(env, w, uv_signal_init(loop, &w->handle), "uv_signal_init") != 0) return NULL;
  tend_callback_adopt(&w->js, (uv_handle_t *)&w->handle);
  uv_unref((uv_handle_t *)&w->handle);

  napi_value handle = tend_callback_object(&w->js, env, argv[0], "tend:childSignalWatch");
  if (handle == NULL) return NULL;
  return tend_callback_started(&w->js, handle, uv_signal_start(&w->handle, on_child, SIGCHLD), "uv_signal_start");
}
